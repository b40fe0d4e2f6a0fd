import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { componentDashboard, memoryPanel, upPanel, volumePanel } from './component-dashboard.ts';
import { ConfigFiles } from './shared/config-file.ts';
import { DATASOURCE_UID, type GrafanaDataSource, type GrafanaHub } from './shared/datasources.ts';
import { externalBackendValues, type ExternalBackend } from './shared/backend.ts';
import { Endpoint } from './shared/endpoint.ts';
import { SignalTarget } from './shared/signal-target.ts';
import { imageVersion, recommendedLabels, type ComponentIdentity } from './shared/labels.ts';
import { alertingRule, scrapeEndpoint, type MetricsHub, type RuleGroup } from './shared/scrape.ts';
import { dataClaim, hardenedContainer, size, stackService, storeStatefulSet, type ContainerResourceValues } from './shared/workload.ts';
import { IMAGES } from './versions.ts';
import { duration, quantity, resources, singleReplica } from './shared/fields.ts';
import { seconds } from './shared/units.ts';

/**
 * `loki.yaml`, as far as Sightline writes it. Keys as upstream names them.
 *
 * @see https://grafana.com/docs/loki/v3.7.x/configure/
 */
export interface LokiConfig {
  readonly auth_enabled: boolean;
  readonly server: { readonly http_listen_port: number; readonly grpc_listen_port: number };
  readonly common: {
    readonly path_prefix: string;
    readonly instance_addr: string;
    readonly replication_factor: number;
    readonly ring: { readonly kvstore: { readonly store: 'inmemory' } };
    readonly storage: { readonly filesystem: { readonly chunks_directory: string; readonly rules_directory: string } };
  };
  readonly ingester: { readonly wal: { readonly replay_memory_ceiling: string } };
  readonly schema_config: { readonly configs: readonly LokiPeriodConfig[] };
  readonly compactor: { readonly retention_enabled: boolean; readonly delete_request_store: 'filesystem' };
  readonly limits_config: {
    readonly retention_period: string;
    readonly deletion_mode: LokiDeletionMode;
    readonly allow_structured_metadata: boolean;
    readonly volume_enabled: boolean;
  };
  readonly analytics: { readonly reporting_enabled: boolean };
}

/**
 * What Loki's log deletion API (`/loki/api/v1/delete`) may do: nothing, hide lines from queries, or hide them
 * and then delete them from the chunks. `limits_config.deletion_mode` in Loki 3 (`compactor.deletion_mode` is gone).
 *
 * @see https://grafana.com/docs/loki/v3.7.x/operations/storage/logs-deletion/
 */
export type LokiDeletionMode = 'disabled' | 'filter-only' | 'filter-and-delete';

/** `<period_config>`: the index and chunk format from a date on. */
export interface LokiPeriodConfig {
  readonly from: string;
  readonly store: 'tsdb';
  readonly object_store: 'filesystem';
  readonly schema: 'v13';
  readonly index: { readonly prefix: string; readonly period: string };
}

/**
 * A derived field of Grafana's Loki datasource: a value found in each log line (by regex) or in a label or
 * structured-metadata field of that name (`matcherType: label`), rendered as a link into another datasource.
 */
export interface LokiDerivedField {
  readonly name: string;
  readonly matcherType: 'label' | 'regex';
  /** The label name, or a regex whose first group is the value. */
  readonly matcherRegex: string;
  /** uid of the datasource the link queries. */
  readonly datasourceUid: string;
  /** The query, in which Grafana substitutes the value (escaped for provisioning: `$${__value.raw}`). */
  readonly url: string;
  readonly urlDisplayLabel: string;
}

/**
 * What the stack's log clients write to: the stack's {@link Loki}, or an external one ({@link externalLoki}).
 */
export interface LogStore {
  /** The push API (`/loki/api/v1/push`): Promtail, Alloy and the syslog receiver send here. */
  readonly push: SignalTarget;
  /** The OTLP/HTTP ingestion base (`/otlp`): the collector sends here, appending `/v1/logs`. */
  readonly otlp: SignalTarget;
}

/** Path of Loki's push API, below its HTTP base. */
const PUSH_PATH = '/loki/api/v1/push';
/** Path of Loki's OTLP ingestion base, below its HTTP base. */
const OTLP_PATH = '/otlp';

/** Properties of {@link Loki}. */
export interface LokiProps {
  /** Namespace of every object of the chart. */
  readonly namespace: string;
  /** How long logs are kept (`limits_config.retention_period`), at least 24h, e.g. `7d`. */
  readonly retention: string;
  /** Size of the PersistentVolumeClaim at `/var/loki` (chunks, index, WAL), e.g. `10Gi`. */
  readonly storage: string;
  /**
   * The log deletion API (`limits_config.deletion_mode`). Any pod that may push to Loki may also reach this
   * API (the same port), so it stays off unless someone needs it.
   * @default - none: values always set it (`disabled` by default)
   */
  readonly deletionMode: LokiDeletionMode;
  /** StorageClass of the claim. @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
  /** Pods: 1, or 0 to stop Loki and keep its data. */
  readonly replicas: number;
  /** Requests and limits of the Loki container. */
  readonly resources: ContainerResourceValues;
  /** Where Loki contributes its scrape job. @default - Loki is not scraped */
  readonly metrics?: MetricsHub;
  /** Where Loki provisions its datasource. @default - no datasource */
  readonly grafana?: GrafanaHub;
}

/**
 * Loki as a single binary on a filesystem volume: one tenant, a TSDB index, retention by the compactor.
 * Publishes its query, push and OTLP endpoints, and provisions Grafana's Loki datasource with links from a
 * log line to its trace in Tempo.
 */
export class Loki extends Chart implements LogStore {
  /** Port of the HTTP API (queries, push, OTLP, `/metrics`). */
  public static readonly PORT = 3100;
  /** Port of the gRPC server, used only between Loki's modules inside the process. */
  public static readonly GRPC_PORT = 9095;
  /** The image's user (`loki`). */
  private static readonly USER = 10001;
  private static readonly CONFIG_DIR = '/etc/loki';
  private static readonly DATA_DIR = '/var/loki';

  /** HTTP API base: the query API Grafana's datasource uses. */
  public readonly endpoint: Endpoint;
  /** Push API (`/loki/api/v1/push`), where Promtail sends. */
  public readonly pushEndpoint: Endpoint;
  /** Native OTLP/HTTP ingestion base (`/otlp`); OTLP exporters append `/v1/logs`. */
  public readonly otlpEndpoint: Endpoint;
  public readonly push: SignalTarget;
  public readonly otlp: SignalTarget;
  /** The StatefulSet running Loki. */
  public readonly statefulSet: kplus.StatefulSet;
  /** The ConfigMap holding `loki.yaml`. */
  public readonly config: ConfigFiles;

  public constructor(scope: Construct, id: string, props: LokiProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    const identity: ComponentIdentity = { name: 'loki', component: 'logs', version: imageVersion(IMAGES.loki) };
    const labels = recommendedLabels(identity);

    this.config = new ConfigFiles(this, 'Config', {
      name: 'loki-config',
      labels,
      files: { 'loki.yaml': Loki.renderConfig(props.retention, props.deletionMode, props.resources.limits.memory) },
    });

    const claim = dataClaim(this, { name: 'loki-data', labels, storage: props.storage, storageClassName: props.storageClassName });

    const service = stackService(this, 'Service', { name: 'loki', identity, ports: [{ name: 'http', port: Loki.PORT }] });
    this.statefulSet = storeStatefulSet(this, 'StatefulSet', {
      identity,
      name: 'loki',
      replicas: props.replicas,
      user: Loki.USER,
      service,
      configChecksum: this.config.checksum,
    });
    const container = this.statefulSet.addContainer({
      name: 'loki',
      ...hardenedContainer({ image: IMAGES.loki, user: Loki.USER, resources: props.resources }),
      args: [`-config.file=${Loki.CONFIG_DIR}/loki.yaml`],
      ports: [
        { name: 'http', number: Loki.PORT },
        { name: 'grpc', number: Loki.GRPC_PORT },
      ],
      // /ready answers 503 until the ingester has been up for 15s (min_ready_duration), and while the WAL
      // replays: no traffic until then, and no restart for it either.
      readiness: kplus.Probe.fromHttpGet('/ready', {
        port: Loki.PORT,
        initialDelaySeconds: Duration.seconds(15),
        periodSeconds: Duration.seconds(10),
        timeoutSeconds: Duration.seconds(3),
        failureThreshold: 3,
      }),
      // The HTTP server answers from the first second, whatever the ingester is doing: liveness asks only
      // whether the process still serves.
      liveness: kplus.Probe.fromHttpGet('/loki/api/v1/status/buildinfo', {
        port: Loki.PORT,
        initialDelaySeconds: Duration.seconds(15),
        periodSeconds: Duration.seconds(15),
        timeoutSeconds: Duration.seconds(5),
        failureThreshold: 4,
      }),
    });
    container.mount(Loki.CONFIG_DIR, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' }), { readOnly: true });
    container.mount(Loki.DATA_DIR, kplus.Volume.fromPersistentVolumeClaim(this, 'DataVolume', claim, { name: 'data' }));
    // The root filesystem is read-only; temporary files go to /tmp.
    container.mount('/tmp', kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp'));

    // Pushes, OTLP, queries and the delete API share this one port, and a network policy selects ports, not
    // paths: Promtail, the syslog receiver and the collector (pushing) may query too, Grafana (querying) may
    // push. Hence the delete API stays off unless asked for (deletionMode).
    this.endpoint = Endpoint.fromService(service, Loki.PORT, { scheme: 'http' });
    this.pushEndpoint = this.endpoint.withPath(PUSH_PATH);
    this.otlpEndpoint = this.endpoint.withPath(OTLP_PATH);
    this.push = SignalTarget.embedded(this.pushEndpoint);
    this.otlp = SignalTarget.embedded(this.otlpEndpoint);

    if (props.metrics) scrapeEndpoint(props.metrics, 'loki', this.endpoint);
    props.metrics?.addRuleGroup(lokiRules('loki'));
    props.grafana?.addDataSource(this.dataSource, this.endpoint);
    props.grafana?.addDashboard(
      componentDashboard({
        uid: 'sightline-loki',
        title: 'Loki',
        description: "Health, ingestion, failures and saturation of the stack's Loki.",
        health: [upPanel('loki', 'Loki')],
        throughput: [
          {
            title: 'Lines received',
            description: 'Log lines pushed to Loki per second (Promtail, the syslog receiver, OTLP).',
            unit: 'short',
            queries: [{ expr: 'sum by (instance) (rate(loki_distributor_lines_received_total{job="loki"}[5m]))', legend: '{{instance}}' }],
          },
          {
            title: 'Requests',
            description: 'HTTP requests per second, by route.',
            unit: 'reqps',
            queries: [{ expr: 'sum by (route) (rate(loki_request_duration_seconds_count{job="loki"}[5m]))', legend: '{{route}}' }],
          },
        ],
        errors: [
          {
            title: 'Server errors',
            description: 'Requests answered with a 5xx status per second, by route.',
            unit: 'reqps',
            queries: [
              { expr: 'sum by (route) (rate(loki_request_duration_seconds_count{job="loki", status_code=~"5.."}[5m]))', legend: '{{route}}' },
            ],
          },
          {
            title: 'Discarded lines',
            description: 'Log lines Loki refused per second, by reason: they are lost.',
            unit: 'short',
            queries: [{ expr: 'sum by (reason) (rate(loki_discarded_samples_total{job="loki"}[5m]))', legend: '{{reason}}' }],
          },
        ],
        saturation: [
          {
            title: 'Streams in memory',
            description: 'Streams the ingester holds in memory: memory grows with them.',
            unit: 'short',
            queries: [{ expr: 'sum by (instance) (loki_ingester_memory_streams{job="loki"})', legend: '{{instance}}' }],
          },
          volumePanel('loki-data'),
          memoryPanel('loki', 'Loki'),
        ],
      }),
    );
  }

  /**
   * Grafana's datasource for this Loki, with links from a log line to its trace: by a `trace_id` label or
   * structured-metadata field (OTLP logs carry one), or by a trace id written in the line itself (the JSON
   * or logfmt logs of a service read from its pod).
   */
  public get dataSource(): GrafanaDataSource {
    const { jsonData, ...head } = lokiDataSource();
    return { ...head, url: this.endpoint.url(), jsonData };
  }

  /** Share of the container's memory limit a WAL replay may fill before it flushes: upstream's advice (docs/sources/operations/storage/wal.md). */
  private static readonly REPLAY_MEMORY_SHARE = 0.75;

  private static renderConfig(retention: string, deletionMode: LokiDeletionMode, memoryLimit: string): LokiConfig {
    const data = Loki.DATA_DIR;
    return {
      // One tenant: everything in the cluster shares one log store, and clients send no X-Scope-OrgID.
      auth_enabled: false,
      server: { http_listen_port: Loki.PORT, grpc_listen_port: Loki.GRPC_PORT },
      common: {
        // WAL, TSDB index, compactor working directory and rule scratch space all go below the volume.
        path_prefix: data,
        // The ring lives in memory in this one process, whose modules reach each other over loopback (as in
        // upstream's single-binary config): no dependence on the pod's interface names or address.
        instance_addr: '127.0.0.1',
        replication_factor: 1,
        ring: { kvstore: { store: 'inmemory' } },
        storage: { filesystem: { chunks_directory: `${data}/chunks`, rules_directory: `${data}/rules` } },
      },
      // Loki's default ceiling (4GB) is above the default 2Gi limit: replaying a large WAL after a crash would
      // get the pod OOM-killed, again on every restart. Below the limit, the replay flushes chunks instead.
      // Loki's MB is 2^20 bytes.
      ingester: { wal: { replay_memory_ceiling: `${Math.floor(size(memoryLimit).toMebibytes() * Loki.REPLAY_MEMORY_SHARE)}MB` } },
      schema_config: {
        // Periods are append-only: a later format gets a new entry from a future date, this one stays.
        // TSDB and v13 are what structured metadata (and so OTLP logs) need; retention needs a 24h period.
        configs: [{ from: '2024-04-01', store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } }],
      },
      // Retention is the compactor's job; Loki 3 refuses to start with it enabled and no delete request store.
      compactor: { retention_enabled: true, delete_request_store: 'filesystem' },
      // The volume API backs Grafana's Logs Drilldown (its landing page of services and volumes); off by default.
      // Retention still deletes expired data with deletion disabled: that is the compactor's own job, not the API's.
      limits_config: { retention_period: retention, deletion_mode: deletionMode, allow_structured_metadata: true, volume_enabled: true },
      analytics: { reporting_enabled: false },
    };
  }
}

/**
 * Grafana's Loki datasource, wherever Loki runs: the same uid and links for the stack's Loki and an external one,
 * so every correlation link keeps resolving.
 */
function lokiDataSource(): Omit<GrafanaDataSource, 'url'> {
  // Grafana expands `${...}` in provisioning files from its environment: `$$` leaves Grafana's own macro.
  const trace = { datasourceUid: DATASOURCE_UID.tempo, url: '$${__value.raw}', urlDisplayLabel: 'View trace' } as const;
  const derivedFields: LokiDerivedField[] = [
    { name: 'trace_id', matcherType: 'label', matcherRegex: 'trace_id', ...trace },
    { name: 'trace_id in line', matcherType: 'regex', matcherRegex: TRACE_ID_IN_LINE, ...trace },
  ];
  return { name: 'Loki', uid: DATASOURCE_UID.loki, type: 'loki', jsonData: { derivedFields } };
}

/**
 * A Loki the stack does not run (`loki.external`, e.g. one in microservices mode): nothing is rendered for it
 * but Grafana's Loki datasource, which queries its `queryUrl`. Clients push to its `writeUrl` (the push API) and
 * the collector to the OTLP base beside it (`<base>/otlp`), with its tenant and credentials.
 *
 * @param backend validated by {@link lokiValues}: `writeUrl` ends in `/loki/api/v1/push`
 */
export function externalLoki(backend: ExternalBackend, grafana?: GrafanaHub): LogStore {
  grafana?.addExternalDataSource(lokiDataSource(), backend);
  const base = backend.writeUrl.slice(0, -PUSH_PATH.length);
  return { push: SignalTarget.external(backend), otlp: SignalTarget.external(backend, `${base}${OTLP_PATH}`) };
}

/** A trace id in a log line, JSON (`"trace_id":"4bf9..."`) or logfmt (`trace_id=4bf9...`); group 1 is the id. */
export const TRACE_ID_IN_LINE = '(?:"trace_id"\\s*:\\s*"|\\btrace_id=)(\\w+)';

/**
 * Alerts on Loki. Metrics (Loki 3.7.6): `loki_request_duration_seconds` with `route` and `status_code` (dskit
 * server/metrics.go, namespace `loki` from pkg/util/constants), `loki_discarded_samples_total` with `reason`
 * (pkg/validation/validate.go).
 */
export function lokiRules(job: string): RuleGroup {
  const requests = (matchers: string) => `sum by (job, instance, route) (rate(loki_request_duration_seconds_count{job="${job}"${matchers}}[5m]))`;
  return {
    name: 'loki',
    rules: [
      alertingRule({
        alert: 'LokiRequestErrors',
        expr: `${requests(', status_code=~"5.."')} / ${requests('')} > 0.05`,
        for: '15m',
        severity: 'warning',
        summary: 'Loki fails {{ $value | humanizePercentage }} of {{ $labels.route }} requests',
        description:
          "More than 5% of the requests to Loki's {{ $labels.route }} endpoint have failed with a server error for 15 minutes: pushes are retried and may be dropped by the agents, queries fail in Grafana. The Loki log names the error; a full volume, memory pressure (OOM kills) and a compactor stuck on a corrupt index are the usual causes.",
      }),
      alertingRule({
        alert: 'LokiDiscardingSamples',
        expr: `sum by (job, instance, reason) (rate(loki_discarded_samples_total{job="${job}"}[5m])) > 0`,
        for: '15m',
        severity: 'warning',
        summary: 'Loki discards log lines: {{ $labels.reason }}',
        description:
          "Loki has refused log lines for 15 minutes with reason {{ $labels.reason }}: they are lost. rate_limited and per_stream_rate_limit mean a sender exceeds the ingestion limits (find it in the agents' logs, or raise the limit); line_too_long and greater_than_max_sample_age point at one application or a clock; stream_limit at labels with too many values.",
      }),
    ],
  };
}

/** The `loki` section of the values. */
export const lokiValues = z
  .strictObject({
    retention: duration()
      .refine((v) => seconds(v) >= 86400, { error: "is shorter than 24h, the least retention Loki's compactor applies" })
      .default('7d')
      .describe('How long logs are kept (limits_config.retention_period), enforced by the compactor; at least 24h.'),
    storage: quantity().default('10Gi').describe('Size of the PersistentVolumeClaim mounted at /var/loki (chunks, index, WAL).'),
    deletionMode: z
      .enum(['disabled', 'filter-only', 'filter-and-delete'])
      .default('disabled')
      .describe("Log deletion API (limits_config.deletion_mode). disabled: nobody can delete logs through Loki's API; retention still applies."),
    replicas: singleReplica().default(1),
    resources: resources({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '2', memory: '2Gi' } }),
    external: externalBackendValues({ write: `https://loki.example.com${PUSH_PATH}`, query: 'https://loki.example.com' })
      .superRefine((backend, ctx) => {
        // Promtail and Alloy take the push URL whole; the collector's OTLP base is found beside it.
        if (!new URL(backend.writeUrl).pathname.endsWith(PUSH_PATH)) {
          ctx.addIssue({
            code: 'custom',
            path: ['writeUrl'],
            input: backend.writeUrl,
            message: `is not Loki's push API (a URL ending in ${PUSH_PATH})`,
          });
        }
      })
      .optional()
      .describe(
        'A Loki the stack does not run (e.g. microservices mode): Promtail, Alloy, the syslog receiver and the collector write to it and Grafana queries it; the embedded Loki is not rendered and the rest of this section is ignored. Default: none (the embedded Loki).',
      ),
  })
  .prefault({});
