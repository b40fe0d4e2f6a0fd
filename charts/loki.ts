import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { componentDashboard, memoryPanel, upPanel, volumePanel } from './component-dashboard.ts';
import { ConfigFiles } from './shared/config-file.ts';
import { DATASOURCE_UID, type GrafanaDataSource, type GrafanaHub } from './shared/datasources.ts';
import { externalBackendValues, type ExternalBackend } from './shared/backend.ts';
import { Endpoint } from './shared/endpoint.ts';
import { imageVersion, recommendedLabels, selectorLabels, type ComponentIdentity } from './shared/labels.ts';
import { storeCapacityRules } from './shared/capacity.ts';
import { alertingRule, podScrapeJob, scrapeEndpoint, type AlertingRule, type MetricsHub, type RuleGroup } from './shared/scrape.ts';
import {
  dataClaim,
  hardenedContainer,
  keepReplicasApart,
  perPodClaims,
  size,
  stackService,
  storeStatefulSet,
  type ContainerResourceValues,
} from './shared/workload.ts';
import { recordServicePods } from './shared/network.ts';
import { connectObjectStore, objectStoreValues, STORE_ENV, storeServiceAccount, type ObjectStore } from './shared/object-storage.ts';
import { SignalTarget } from './shared/signal-target.ts';
import { IMAGES } from './versions.ts';
import { duration, quantity, resources } from './shared/fields.ts';
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
    readonly ring: { readonly kvstore: { readonly store: 'inmemory' | 'memberlist' } };
    /** Only while a period keeps chunks on the volume: the common section takes one backend only. */
    readonly storage?: { readonly filesystem: { readonly chunks_directory: string; readonly rules_directory: string } };
  };
  /** The object store's client, under the key its `object_store` name selects. */
  readonly storage_config?: LokiStorageConfig;
  readonly memberlist?: { readonly join_members: readonly string[]; readonly cluster_label: string };
  readonly ingester: { readonly wal: { readonly replay_memory_ceiling: string } };
  readonly schema_config: { readonly configs: readonly LokiPeriodConfig[] };
  readonly compactor: { readonly retention_enabled: boolean; readonly delete_request_store: LokiObjectStoreName };
  readonly limits_config: {
    readonly retention_period: string;
    readonly deletion_mode: LokiDeletionMode;
    readonly allow_structured_metadata: boolean;
    readonly volume_enabled: boolean;
  };
  readonly analytics: { readonly reporting_enabled: boolean };
}

/** `storage_config` for one object store (Loki 3.7's own clients, not the Thanos-based `object_store` ones). */
export interface LokiStorageConfig {
  readonly aws?: {
    readonly endpoint: string;
    readonly bucketnames: string;
    readonly region?: string;
    readonly s3forcepathstyle: boolean;
    readonly insecure: boolean;
  };
  readonly gcs?: { readonly bucket_name: string };
  readonly azure?: {
    readonly account_name: string;
    readonly account_key?: string;
    readonly container_name: string;
    readonly use_federated_token?: boolean;
  };
}

/** Names a period's `object_store` takes (pkg/storage/types), and the delete request store with it. */
export type LokiObjectStoreName = 'filesystem' | 's3' | 'gcs' | 'azure';

/**
 * What Loki's log deletion API (`/loki/api/v1/delete`) may do: nothing, hide lines from queries, or hide them
 * and then delete them from the chunks. `limits_config.deletion_mode` in Loki 3 (`compactor.deletion_mode` is gone).
 *
 * @see https://grafana.com/docs/loki/v3.7.x/operations/storage/logs-deletion/
 */
export type LokiDeletionMode = 'disabled' | 'filter-only' | 'filter-and-delete';

/** Loki's store: the shared model, and for an object store the day it takes over from the volume (`since`). */
export type LokiObjectStore = ObjectStore & { readonly since?: string };

/** `<period_config>`: the index and chunk format from a date on. */
export interface LokiPeriodConfig {
  readonly from: string;
  readonly store: 'tsdb';
  readonly object_store: LokiObjectStoreName;
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
  /**
   * Size of the PersistentVolumeClaim at `/var/loki`, e.g. `10Gi`: with `filesystem`, the data itself (chunks,
   * index, WAL); with an object store, only what must stay local (the WAL, the TSDB index before it is shipped
   * and its cache, the compactor's working directory), and the chunks of a filesystem period still kept.
   * Each replica has its own claim when there are several.
   */
  readonly storage: string;
  /** Where chunks and the index go: the volume, or an object store (from `since` on, when given). */
  readonly objectStore: LokiObjectStore;
  /**
   * The log deletion API (`limits_config.deletion_mode`). Any pod that may push to Loki may also reach this
   * API (the same port), so it stays off unless someone needs it.
   * @default - none: values always set it (`disabled` by default)
   */
  readonly deletionMode: LokiDeletionMode;
  /** StorageClass of the claim. @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
  /**
   * Pods: 1, or 0 to stop Loki and keep its data; 3 or more (on an object store) for HA monolithic mode: a
   * memberlist ring in which every stream is written to 3 replicas.
   */
  readonly replicas: number;
  /** Requests and limits of the Loki container. */
  readonly resources: ContainerResourceValues;
  /** Where Loki contributes its scrape job. @default - Loki is not scraped */
  readonly metrics?: MetricsHub;
  /** Where Loki provisions its datasource. @default - no datasource */
  readonly grafana?: GrafanaHub;
}

/**
 * Loki as a single binary (`-target=all`): one tenant, a TSDB index, retention by the compactor, its chunks and
 * index on its volume or in an object store. On an object store it can run HA monolithic: several replicas in a
 * memberlist ring. Publishes its query, push and OTLP endpoints, and provisions Grafana's Loki datasource with
 * links from a log line to its trace in Tempo.
 *
 * @see https://grafana.com/docs/loki/v3.7.x/get-started/deployment-modes/#monolithic-mode
 */
export class Loki extends Chart implements LogStore {
  /** Port of the HTTP API (queries, push, OTLP, `/metrics`). */
  public static readonly PORT = 3100;
  /** Port of the gRPC server: between Loki's modules inside the process, and between replicas in a ring. */
  public static readonly GRPC_PORT = 9095;
  /** Port of memberlist's gossip (TCP only: dskit's transport), between replicas in a ring. */
  public static readonly MEMBERLIST_PORT = 7946;
  /** Replication factor of a ring, as upstream documents HA monolithic mode (docs/sources/get-started/deployment-modes.md). */
  public static readonly REPLICATION_FACTOR = 3;
  /** The image's user (`loki`). */
  private static readonly USER = 10001;
  private static readonly CONFIG_DIR = '/etc/loki';
  private static readonly DATA_DIR = '/var/loki';
  private static readonly SECRETS_DIR = '/etc/loki-secrets';
  /** Name of the data volume in the pod (and of the claim template with several replicas). */
  private static readonly VOLUME = 'data';
  /** The environment variable holding the pod's IP (downward API), which a replica of a ring registers under. */
  private static readonly POD_IP_ENV = 'POD_IP';

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
  /**
   * With several replicas: the headless Service every pod is published on (not-ready ones too), whose gossip
   * and gRPC ports the replicas reach each other on.
   * @default - none with one replica
   */
  public readonly memberlistEndpoint?: Endpoint;

  public constructor(scope: Construct, id: string, props: LokiProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    const identity: ComponentIdentity = { name: 'loki', component: 'logs', version: imageVersion(IMAGES.loki) };
    const labels = recommendedLabels(identity);

    // Several replicas form a memberlist ring over a headless Service; one keeps its ring in memory.
    const ring = props.replicas > 1 ? this.memberlistService(identity) : undefined;
    this.memberlistEndpoint = ring?.gossip;
    this.config = new ConfigFiles(this, 'Config', { name: 'loki-config', labels, files: { 'loki.yaml': this.renderConfig(props) } });

    const volume = { labels, storage: props.storage, storageClassName: props.storageClassName };
    // One replica mounts its claim by name; several get a claim each (below), for a WAL and an index cache of their own.
    const claim = ring ? undefined : dataClaim(this, { name: 'loki-data', ...volume });

    const service = stackService(this, 'Service', { name: 'loki', identity, ports: [{ name: 'http', port: Loki.PORT }] });
    this.statefulSet = storeStatefulSet(this, 'StatefulSet', {
      identity,
      name: 'loki',
      replicas: props.replicas,
      user: Loki.USER,
      service,
      serviceAccount: storeServiceAccount(this, props.objectStore, { name: 'loki', labels }),
      // Replicas of a ring join it each on its own, as upstream's Helm chart starts them.
      parallel: ring !== undefined,
      configChecksum: this.config.checksum,
    });
    const configText = this.config.fileText('loki.yaml');
    const container = this.statefulSet.addContainer({
      name: 'loki',
      ...hardenedContainer({ image: IMAGES.loki, user: Loki.USER, resources: props.resources }),
      // Loki expands ${VAR} in its config only when told to; the flag stays off while nothing needs it.
      args: [`-config.file=${Loki.CONFIG_DIR}/loki.yaml`, ...(configText.includes('${') ? ['-config.expand-env=true'] : [])],
      ports: [
        { name: 'http', number: Loki.PORT },
        { name: 'grpc', number: Loki.GRPC_PORT },
        ...(ring ? [{ name: 'memberlist', number: Loki.MEMBERLIST_PORT }] : []),
      ],
      envVariables: ring ? { [Loki.POD_IP_ENV]: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_IP) } : undefined,
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
    if (claim) container.mount(Loki.DATA_DIR, kplus.Volume.fromPersistentVolumeClaim(this, 'DataVolume', claim, { name: Loki.VOLUME }));
    // The root filesystem is read-only; temporary files go to /tmp.
    container.mount('/tmp', kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp'));
    if (ring) {
      perPodClaims(this.statefulSet, { name: Loki.VOLUME, ...volume, mountPath: Loki.DATA_DIR });
      ring.gossip.allowFrom(this.statefulSet);
      ring.grpc.allowFrom(this.statefulSet);
      // One disruption at a time leaves a quorum (2 of 3) of every stream's replicas; spread over nodes and zones.
      keepReplicasApart(this.statefulSet, identity);
    }
    connectObjectStore(this.statefulSet, container, props.objectStore, Loki.SECRETS_DIR);

    // Pushes, OTLP, queries and the delete API share this one port, and a network policy selects ports, not
    // paths: Promtail, the syslog receiver and the collector (pushing) may query too, Grafana (querying) may
    // push. Hence the delete API stays off unless asked for (deletionMode).
    this.endpoint = Endpoint.fromService(service, Loki.PORT, { scheme: 'http' });
    this.pushEndpoint = this.endpoint.withPath(PUSH_PATH);
    this.otlpEndpoint = this.endpoint.withPath(OTLP_PATH);
    this.push = SignalTarget.embedded(this.pushEndpoint);
    this.otlp = SignalTarget.embedded(this.otlpEndpoint);

    // Replicas are scraped pod by pod: through the Service they would answer in turn under one target.
    if (ring) {
      props.metrics?.addScrapeJob(
        podScrapeJob({ jobName: 'loki', namespace: props.namespace, selector: selectorLabels(identity), portName: 'http' }),
        this.endpoint,
      );
    } else if (props.metrics) scrapeEndpoint(props.metrics, 'loki', this.endpoint);
    props.metrics?.addRuleGroup(lokiRules('loki', ring !== undefined));
    props.metrics?.addRuleGroup(storeCapacityRules({ job: 'loki', name: 'Loki', limits: props.resources.limits, extra: [lokiVolumeRule('loki')] }));
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
          // StatefulSet claims are named <template>-<statefulset>-<ordinal>.
          ring ? volumePanel(`${Loki.VOLUME}-${this.statefulSet.name}-[0-9]+`, { perPod: true }) : volumePanel('loki-data'),
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

  /**
   * The headless Service of HA monolithic mode, publishing every replica (ready or not: a starting replica must
   * find its peers before it can become ready) on the gossip and gRPC ports the replicas reach each other on.
   */
  private memberlistService(identity: ComponentIdentity): { readonly gossip: Endpoint; readonly grpc: Endpoint } {
    const headless = new kplus.Service(this, 'MemberlistService', {
      metadata: { name: 'loki-memberlist', labels: recommendedLabels(identity) },
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      ports: [
        { name: 'memberlist', port: Loki.MEMBERLIST_PORT, targetPort: Loki.MEMBERLIST_PORT, protocol: kplus.Protocol.TCP },
        { name: 'grpc', port: Loki.GRPC_PORT, targetPort: Loki.GRPC_PORT, protocol: kplus.Protocol.TCP },
      ],
    });
    for (const [key, value] of Object.entries(selectorLabels(identity))) headless.selectLabel(key, value);
    recordServicePods(headless, selectorLabels(identity));
    return {
      gossip: Endpoint.fromService(headless, Loki.MEMBERLIST_PORT, { scheme: 'tcp' }),
      grpc: Endpoint.fromService(headless, Loki.GRPC_PORT, { scheme: 'grpc' }),
    };
  }

  private renderConfig(props: LokiProps): LokiConfig {
    const clustered = this.memberlistEndpoint !== undefined;
    const data = Loki.DATA_DIR;
    const store = props.objectStore;
    // A filesystem period stays as long as chunks are on the volume: always with `filesystem`, and before
    // `since` when an object store took over from it.
    const filesystem: LokiPeriodConfig = {
      from: LOKI_FIRST_PERIOD,
      store: 'tsdb',
      object_store: 'filesystem',
      schema: 'v13',
      index: { prefix: 'index_', period: '24h' },
    };
    const periods: LokiPeriodConfig[] =
      store.type === 'filesystem'
        ? [filesystem]
        : store.since === undefined
          ? [{ ...filesystem, object_store: store.type }]
          : [filesystem, { ...filesystem, from: store.since, object_store: store.type }];
    const onVolume = periods.some((p) => p.object_store === 'filesystem');
    return {
      // One tenant: everything in the cluster shares one log store, and clients send no X-Scope-OrgID.
      auth_enabled: false,
      server: { http_listen_port: Loki.PORT, grpc_listen_port: Loki.GRPC_PORT },
      common: {
        // WAL, TSDB index, compactor working directory and rule scratch space all go below the volume.
        path_prefix: data,
        // One replica: the ring lives in memory in this one process, whose modules reach each other over
        // loopback (as in upstream's single-binary config), with no dependence on the pod's interfaces. Several:
        // each registers its pod IP (given by the downward API; the interface-name default misses many CNIs),
        // which Loki also advertises to memberlist.
        instance_addr: clustered ? expandedEnv(Loki.POD_IP_ENV) : '127.0.0.1',
        replication_factor: clustered ? Loki.REPLICATION_FACTOR : 1,
        ring: { kvstore: { store: clustered ? 'memberlist' : 'inmemory' } },
        // Loki refuses more than one backend here (ErrTooManyStorageConfigs), so an object store goes to storage_config.
        storage: onVolume ? { filesystem: { chunks_directory: `${data}/chunks`, rules_directory: `${data}/rules` } } : undefined,
      },
      storage_config: lokiStorageConfig(store),
      memberlist:
        this.memberlistEndpoint !== undefined
          ? {
              // dns+ resolves every A record of the headless Service: each replica, whatever its ordinal.
              join_members: [`dns+${this.memberlistEndpoint.hostPort}`],
              // Gossip from another Loki on the same network (another namespace) is refused.
              cluster_label: `${this.namespace}/loki`,
            }
          : undefined,
      // Loki's default ceiling (4GB) is above the default 2Gi limit: replaying a large WAL after a crash would
      // get the pod OOM-killed, again on every restart. Below the limit, the replay flushes chunks instead.
      // Loki's MB is 2^20 bytes.
      ingester: {
        wal: { replay_memory_ceiling: `${Math.floor(size(props.resources.limits.memory).toMebibytes() * Loki.REPLAY_MEMORY_SHARE)}MB` },
      },
      schema_config: {
        // Periods are append-only: a later format or store gets a new entry from a future date, this one stays.
        // TSDB and v13 are what structured metadata (and so OTLP logs) need; retention needs a 24h period.
        configs: periods,
      },
      // Retention is the compactor's job; Loki 3 refuses to start with it enabled and no delete request store.
      // The compactor applies retention to every period's store; delete requests live in the newest one.
      compactor: { retention_enabled: true, delete_request_store: periods.at(-1)!.object_store },
      // The volume API backs Grafana's Logs Drilldown (its landing page of services and volumes); off by default.
      // Retention still deletes expired data with deletion disabled: that is the compactor's own job, not the API's.
      limits_config: {
        retention_period: props.retention,
        deletion_mode: props.deletionMode,
        allow_structured_metadata: true,
        volume_enabled: true,
      },
      analytics: { reporting_enabled: false },
    };
  }
}

/** A reference Loki replaces with the environment variable's value when it reads its config (`-config.expand-env=true`). */
function expandedEnv(name: string): string {
  return `\${${name}}`;
}

/** `storage_config` of an object store: where the periods whose `object_store` names it read and write. */
function lokiStorageConfig(store: ObjectStore): LokiStorageConfig | undefined {
  switch (store.type) {
    case 'filesystem':
      return undefined;
    // Credentials: the AWS SDK's default chain reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the
    // environment, or the IRSA token, when the config names no key.
    case 's3':
      return {
        aws: {
          endpoint: store.endpoint,
          bucketnames: store.bucket,
          region: store.region,
          s3forcepathstyle: store.forcePathStyle,
          insecure: store.insecure,
        },
      };
    // Google's default credentials: the key file GOOGLE_APPLICATION_CREDENTIALS names, or Workload Identity.
    case 'gcs':
      return { gcs: { bucket_name: store.bucket } };
    // Loki's Azure client reads no key from the environment: the config names it, expanded at start.
    case 'azure':
      return {
        azure: {
          account_name: store.accountName,
          container_name: store.container,
          ...(store.credentials.type === 'secret' ? { account_key: expandedEnv(STORE_ENV.azureStorageKey) } : { use_federated_token: true }),
        },
      };
  }
}

/** Start of the first schema period, which every Loki rendered by Sightline has had: periods are never rewritten. */
export const LOKI_FIRST_PERIOD = '2024-04-01';

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
 * (pkg/validation/validate.go), and in a ring `loki_ring_members` with `name` and `state` (dskit ring/ring.go,
 * registered with the `loki_` prefix by pkg/loki/modules.go; `Unhealthy` for a member past its heartbeat timeout).
 *
 * @param ring whether the replicas form a ring (HA monolithic mode), whose health is then watched too
 */
export function lokiRules(job: string, ring: boolean): RuleGroup {
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
      ...(ring
        ? [
            alertingRule({
              alert: 'LokiRingMembersUnhealthy',
              expr: `max by (job, namespace) (loki_ring_members{job="${job}", name="ingester", state="Unhealthy"}) > 0`,
              for: '15m',
              severity: 'warning',
              summary: '{{ $value }} Loki replicas are unhealthy in the ring',
              description:
                "For 15 minutes, Loki's replicas have seen {{ $value }} of their ingester ring's members miss their heartbeats. A write needs 2 of its stream's 3 replicas: one more replica down and pushes of some streams fail. Check that every loki pod runs and is ready, and that the replicas reach each other on 7946 (memberlist) and 9095 (gRPC); a replica removed for good leaves its entry behind until it is forgotten on the /ring page of any replica.",
            }),
          ]
        : []),
    ],
  };
}

/**
 * Daily log volume beyond what upstream sizes Loki's monolithic mode for ("small read/write volumes of up to
 * approximately 20GB per day", Loki 3.7 deployment modes), measured by `loki_distributor_bytes_received_total`
 * (uncompressed bytes, pkg/loghttp/push/push.go). Over a day's rate, so that a burst does not fire it.
 */
export function lokiVolumeRule(job: string): AlertingRule {
  return alertingRule({
    alert: 'LokiBeyondMonolithicSizing',
    expr: `sum by (job) (rate(loki_distributor_bytes_received_total{job="${job}"}[1d])) * 86400 > 20e9`,
    for: '1h',
    severity: 'warning',
    summary: 'Loki receives more than 20GB of logs a day, beyond what upstream sizes its monolithic mode for',
    description:
      'Loki has received more than 20GB of logs (uncompressed) over the last day, more than upstream sizes its monolithic mode for. Queries over long ranges slow down first, then ingestion. Move to the next profile: object storage and several replicas (scale-out), or a Loki in microservices mode as an external backend (README, Scaling).',
  });
}

/**
 * The day an object store takes over from the volume: a schema period of its own from that day on, since
 * rewriting the `object_store` of a period with data would leave that data unreadable.
 */
const lokiSince = () =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'is not a date like 2027-01-15 (YYYY-MM-DD)', abort: true })
    .refine((v) => new Date(`${v}T00:00:00Z`).toISOString().startsWith(v), { error: 'is not a date of the calendar', abort: true })
    .refine((v) => v > LOKI_FIRST_PERIOD, { error: `is not after ${LOKI_FIRST_PERIOD}, the start of the filesystem period it follows` });

/** The `loki` section of the values. */
export const lokiValues = z
  .strictObject({
    retention: duration()
      .refine((v) => seconds(v) >= 86400, { error: "is shorter than 24h, the least retention Loki's compactor applies" })
      .default('7d')
      .describe('How long logs are kept (limits_config.retention_period), enforced by the compactor; at least 24h.'),
    storage: quantity()
      .default('10Gi')
      .describe(
        "Size of the PersistentVolumeClaim mounted at /var/loki: the chunks and index with objectStore filesystem; with an object store only the WAL, the index cache and the compactor's working directory (and a filesystem period's chunks). One claim per replica with several.",
      ),
    objectStore: objectStoreValues({
      since: lokiSince()
        .optional()
        .describe(
          'First day (UTC) whose logs go to the object store, for a Loki that already has logs on its volume: a date still in the future when first deployed. Logs before it are read from the volume until retention removes them. Leave out for a new Loki.',
        ),
    }).describe('Where chunks and the index are kept: filesystem (the volume), or an object store (s3, gcs, azure).'),
    deletionMode: z
      .enum(['disabled', 'filter-only', 'filter-and-delete'])
      .default('disabled')
      .describe("Log deletion API (limits_config.deletion_mode). disabled: nobody can delete logs through Loki's API; retention still applies."),
    replicas: z
      .int({ error: 'is not a replica count (a whole number)' })
      .min(0, { error: 'is not a replica count: use 1, 0 to stop Loki and keep its data, or 3 or more on an object store' })
      .default(1)
      .describe(
        'Pods: 1, or 0 to stop Loki; 3 or more run HA monolithic mode (a memberlist ring, replication factor 3), which needs an object store.',
      ),
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
  .prefault({})
  .superRefine((v, ctx) => {
    const refuse = (message: string) => ctx.addIssue({ code: 'custom', path: ['replicas'], input: v.replicas, message });
    if (v.replicas <= 1) return;
    if (v.objectStore.type === 'filesystem') {
      refuse(
        'is more than 1 with objectStore filesystem: replicas share their chunks and index only through an object store (set loki.objectStore to s3, gcs or azure)',
      );
    } else if (v.replicas < Loki.REPLICATION_FACTOR) {
      refuse(
        `is less than ${Loki.REPLICATION_FACTOR}, the replication factor: a write needs a quorum of 2 replicas, so 2 pods would stop taking logs whenever one is down. Use 1, or 3 or more`,
      );
    } else if (v.objectStore.since !== undefined) {
      refuse(
        `is more than 1 while loki.objectStore.since (${v.objectStore.since}) keeps a filesystem period: its logs are on the loki-data volume, which only one pod can mount. Stay at 1 until retention has passed since, then drop since and scale`,
      );
    }
  });
