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
import { storeCapacityRules } from './shared/capacity.ts';
import { alertingRule, scrapeEndpoint, type AlertingRule, type MetricsHub, type RuleGroup } from './shared/scrape.ts';
import {
  dataClaim,
  hardenedContainer,
  stackService,
  storeStatefulSet,
  type ContainerResourceValues,
  type ServicePortSpec,
} from './shared/workload.ts';
import { IMAGES } from './versions.ts';
import { duration, quantity, resources } from './shared/fields.ts';
import { nanoseconds } from './shared/units.ts';
import { connectObjectStore, objectStoreValues, storeServiceAccount, type ObjectStore } from './shared/object-storage.ts';

/** `<endpoint>` of an OpenTelemetry receiver protocol: `host:port` to bind. */
interface ReceiverEndpoint {
  readonly endpoint: string;
}

/**
 * `tempo.yaml`, as far as Sightline writes it, for Tempo 3.0.3 (which refuses unknown keys, and the 2.x
 * `ingester` and `compactor` blocks). Keys as upstream names them.
 *
 * @see https://grafana.com/docs/tempo/latest/configuration/
 */
export interface TempoConfig {
  readonly stream_over_http_enabled: boolean;
  readonly server: { readonly http_listen_port: number; readonly grpc_listen_port: number };
  readonly distributor: {
    readonly receivers: {
      readonly otlp: { readonly protocols: { readonly grpc: ReceiverEndpoint; readonly http: ReceiverEndpoint } };
      readonly jaeger: {
        readonly protocols: {
          readonly grpc: ReceiverEndpoint;
          readonly thrift_http: ReceiverEndpoint;
          readonly thrift_compact: ReceiverEndpoint;
          readonly thrift_binary: ReceiverEndpoint;
        };
      };
      readonly zipkin: ReceiverEndpoint;
    };
  };
  readonly memory: { readonly automemlimit_enabled: boolean };
  readonly live_store: {
    readonly max_block_bytes?: number;
    readonly max_block_duration: string;
  };
  readonly backend_worker: {
    readonly compaction: { readonly block_retention: string; readonly compacted_block_retention: string };
  };
  readonly query_frontend: { readonly search: { readonly duration_slo: string } };
  readonly metrics_generator: {
    readonly storage: {
      readonly path: string;
      readonly remote_write: ReadonlyArray<{ readonly url: string; readonly send_exemplars: boolean }>;
    };
  };
  readonly storage: {
    readonly trace: {
      readonly backend: 'local' | 's3' | 'gcs' | 'azure';
      readonly wal: { readonly path: string };
      readonly local?: { readonly path: string };
      readonly s3?: {
        readonly endpoint: string;
        readonly bucket: string;
        readonly region?: string;
        readonly forcepathstyle: boolean;
        readonly insecure: boolean;
      };
      readonly gcs?: { readonly bucket_name: string };
      readonly azure?: {
        readonly storage_account_name: string;
        readonly container_name: string;
        readonly use_federated_token?: boolean;
      };
    };
  };
  readonly overrides: {
    readonly defaults: {
      readonly metrics_generator: { readonly processors: ReadonlyArray<'service-graphs' | 'span-metrics'> };
    };
  };
  readonly usage_report: { readonly reporting_enabled: boolean };
}

/**
 * `jsonData` of Grafana's Tempo datasource: the correlation links, by datasource uid. Strings here pass through
 * Grafana's provisioning, which expands `$VAR`, so Grafana's own macros are written `$${...}`.
 *
 * @see https://grafana.com/docs/grafana/latest/datasources/tempo/configure-tempo-data-source/provision-data-source/
 */
// A type alias rather than an interface: GrafanaDataSource takes jsonData as a record, which an interface is not.
export type TempoDataSourceJsonData = {
  readonly tracesToLogsV2?: {
    readonly datasourceUid: string;
    readonly tags: ReadonlyArray<{ readonly key: string; readonly value?: string }>;
    readonly spanStartTimeShift: string;
    readonly spanEndTimeShift: string;
    readonly filterByTraceID: boolean;
    readonly filterBySpanID: boolean;
  };
  readonly tracesToMetrics: {
    readonly datasourceUid: string;
    readonly tags: ReadonlyArray<{ readonly key: string; readonly value?: string }>;
    readonly spanStartTimeShift: string;
    readonly spanEndTimeShift: string;
    readonly queries: ReadonlyArray<{ readonly name: string; readonly query: string }>;
  };
  readonly serviceMap: { readonly datasourceUid: string };
  readonly nodeGraph: { readonly enabled: boolean };
  readonly search: { readonly hide: boolean };
  readonly streamingEnabled: { readonly search: boolean; readonly metrics: boolean };
};

/** What the collector sends traces to: the stack's {@link Tempo}, or an external one ({@link externalTempo}). */
export interface TraceStore {
  /** The OTLP receiver: the stack Tempo's OTLP/gRPC, or an external OTLP/HTTP base (the exporter appends `/v1/traces`). */
  readonly otlp: SignalTarget;
}

/** Properties of {@link Tempo}. */
export interface TempoProps {
  /** Namespace of every object of the chart. */
  readonly namespace: string;
  /** How long traces are kept (`backend_worker.compaction.block_retention`), in the stack's duration syntax, e.g. `14d`. */
  readonly blockRetention: string;
  /** How long a block replaced by compaction stays readable (`backend_worker.compaction.compacted_block_retention`). */
  readonly compactedBlockRetention: string;
  /**
   * Size at which the live-store cuts its head block (`live_store.max_block_bytes`). Each cut becomes a
   * backend block of its own, so a small value means many small blocks for the compactor to merge.
   * @default - Tempo's own, 50 MiB (modules/livestore/config.go)
   */
  readonly maxBlockBytes?: number;
  /** Age at which the live-store cuts its head block (`live_store.max_block_duration`). */
  readonly maxBlockDuration: string;
  /** Threshold of the query-frontend's search SLO metrics (`query_frontend.search.duration_slo`). */
  readonly searchDurationSlo: string;
  /**
   * Size of the PersistentVolumeClaim at `/var/tempo`, e.g. `10Gi`: the WALs, the live-store's and the
   * generator's local state, and with `filesystem` the trace blocks themselves (not with an object store).
   */
  readonly storage: string;
  /** Where trace blocks are kept (`storage.trace.backend`): the volume, or an object store. */
  readonly objectStore: ObjectStore;
  /** StorageClass of the claim. @default - the cluster's default StorageClass */
  readonly storageClassName?: string;
  /**
   * Pods: 1, or 0 to stop Tempo and keep its data. Never more: upstream documents no longer several monolithic
   * instances, and Tempo 3's scalable mode puts a Kafka-compatible queue between its components.
   */
  readonly replicas: number;
  /** Requests and limits of the Tempo container. */
  readonly resources: ContainerResourceValues;
  /**
   * Prometheus remote-write receivers the metrics-generator pushes span metrics and service graphs to, with
   * exemplars: each gets everything (the two copies of a Prometheus pair each need all of it).
   */
  readonly remoteWrite: readonly Endpoint[];
  /** Where Tempo contributes its scrape job. @default - Tempo is not scraped */
  readonly metrics?: MetricsHub;
  /** Where Tempo provisions its datasource. @default - no datasource */
  readonly grafana?: GrafanaHub;
  /**
   * Uid of the Grafana logs datasource that trace-to-logs opens (its labels must include `service_name`).
   *
   * @default - spans carry no link to logs
   */
  readonly logsDataSourceUid?: string;
}

/**
 * Grafana Tempo 3 in monolithic mode (`-target=all`): every component in one pod, trace blocks on its
 * PersistentVolumeClaim or in an object store (the WALs always on the claim), and the metrics-generator remote-writing span metrics and the service graph, with
 * exemplars, to Prometheus. Monolithic Tempo 3 needs no Kafka: the distributor pushes to the live-store and
 * the metrics-generator in process.
 *
 * @see https://grafana.com/docs/tempo/latest/set-up-for-tracing/setup-tempo/migrate-to-3/
 */
export class Tempo extends Chart implements TraceStore {
  /** Port of the HTTP API (query, search, `/ready`, `/metrics`). */
  public static readonly PORT = 3200;
  /** Internal gRPC port: the in-process backend-worker reaches the backend-scheduler on it. */
  private static readonly GRPC_PORT = 9095;
  /** The receivers Tempo serves: OTLP, and Jaeger and Zipkin for clients not yet on OpenTelemetry. */
  private static readonly RECEIVER_PORTS = {
    otlpGrpc: 4317,
    otlpHttp: 4318,
    jaegerGrpc: 14250,
    jaegerThriftHttp: 14268,
    jaegerThriftCompact: 6831,
    jaegerThriftBinary: 6832,
    zipkin: 9411,
  } as const;
  /** The image's user (`tempo`), owner of `/var/tempo`. */
  private static readonly USER = 10001;
  private static readonly CONFIG_DIR = '/etc/tempo';
  /** Every path Tempo writes below is on the claim; upstream's defaults for the live-store and scheduler are here too. */
  private static readonly DATA_DIR = '/var/tempo';
  private static readonly SECRETS_DIR = '/etc/tempo-secrets';

  /** HTTP API (Grafana's datasource URL). */
  public readonly endpoint: Endpoint;
  /** OTLP/gRPC receiver, addressed as `host:port`. */
  public readonly otlpGrpcEndpoint: Endpoint;
  /** OTLP/HTTP receiver base; exporters append `/v1/traces`. */
  public readonly otlpHttpEndpoint: Endpoint;
  public readonly otlp: SignalTarget;
  /** The StatefulSet running Tempo. */
  public readonly statefulSet: kplus.StatefulSet;
  /** The ConfigMap holding `tempo.yaml`. */
  public readonly config: ConfigFiles;

  private readonly props: TempoProps;

  public constructor(scope: Construct, id: string, props: TempoProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    this.props = props;
    const identity: ComponentIdentity = { name: 'tempo', component: 'traces', version: imageVersion(IMAGES.tempo) };
    const labels = recommendedLabels(identity);

    this.config = new ConfigFiles(this, 'Config', { name: 'tempo-config', labels, files: { 'tempo.yaml': this.renderConfig() } });

    const claim = dataClaim(this, { name: 'tempo-data', labels, storage: props.storage, storageClassName: props.storageClassName });

    const r = Tempo.RECEIVER_PORTS;
    const servicePorts: readonly ServicePortSpec[] = [
      { name: 'http', port: Tempo.PORT },
      { name: 'otlp-grpc', port: r.otlpGrpc },
      { name: 'otlp-http', port: r.otlpHttp },
      { name: 'jaeger-grpc', port: r.jaegerGrpc },
      { name: 'jaeger-http', port: r.jaegerThriftHttp },
      // Jaeger's thrift compact and binary protocols are UDP only.
      { name: 'jaeger-compact', port: r.jaegerThriftCompact, protocol: kplus.Protocol.UDP },
      { name: 'jaeger-binary', port: r.jaegerThriftBinary, protocol: kplus.Protocol.UDP },
      { name: 'zipkin', port: r.zipkin },
    ];
    const service = stackService(this, 'Service', { name: 'tempo', identity, ports: servicePorts });
    this.statefulSet = storeStatefulSet(this, 'StatefulSet', {
      identity,
      name: 'tempo',
      replicas: props.replicas,
      user: Tempo.USER,
      service,
      serviceAccount: storeServiceAccount(this, props.objectStore, { name: 'tempo', labels }),
      configChecksum: this.config.checksum,
      // On SIGTERM the backend-worker finishes its job (up to 30s) and the metrics-generator flushes its
      // remote-write queue (up to 1m, remote_write_flush_deadline).
      terminationGracePeriodSeconds: 120,
    });

    const container = this.statefulSet.addContainer({
      name: 'tempo',
      ...hardenedContainer({ image: IMAGES.tempo, user: Tempo.USER, resources: props.resources }),
      args: ['-target=all', `-config.file=${Tempo.CONFIG_DIR}/tempo.yaml`],
      ports: [...servicePorts.map((p) => ({ name: p.name, number: p.port, protocol: p.protocol })), { name: 'grpc', number: Tempo.GRPC_PORT }],
      readiness: kplus.Probe.fromHttpGet('/ready', {
        port: Tempo.PORT,
        periodSeconds: Duration.seconds(10),
        timeoutSeconds: Duration.seconds(5),
        failureThreshold: 3,
      }),
      liveness: kplus.Probe.fromHttpGet('/ready', {
        port: Tempo.PORT,
        periodSeconds: Duration.seconds(15),
        timeoutSeconds: Duration.seconds(5),
        failureThreshold: 5,
      }),
      // Replaying the live-store and generator WALs after a restart can take minutes; liveness waits for it.
      startup: kplus.Probe.fromHttpGet('/ready', {
        port: Tempo.PORT,
        periodSeconds: Duration.seconds(10),
        timeoutSeconds: Duration.seconds(5),
        failureThreshold: 60,
      }),
    });
    container.mount(Tempo.CONFIG_DIR, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' }), {
      readOnly: true,
    });
    container.mount(Tempo.DATA_DIR, kplus.Volume.fromPersistentVolumeClaim(this, 'DataVolume', claim, { name: 'data' }));
    connectObjectStore(this.statefulSet, container, props.objectStore, Tempo.SECRETS_DIR);

    this.endpoint = Endpoint.fromService(service, Tempo.PORT, { scheme: 'http' });
    this.otlpGrpcEndpoint = Endpoint.fromService(service, r.otlpGrpc, { scheme: 'grpc' });
    this.otlpHttpEndpoint = Endpoint.fromService(service, r.otlpHttp, { scheme: 'http' });
    this.otlp = SignalTarget.embedded(this.otlpGrpcEndpoint);

    for (const receiver of props.remoteWrite) receiver.allowFrom(this.statefulSet);
    if (props.metrics) scrapeEndpoint(props.metrics, 'tempo', this.endpoint);
    props.metrics?.addRuleGroup(tempoRules('tempo'));
    props.metrics?.addRuleGroup(
      storeCapacityRules({ job: 'tempo', name: 'Tempo', limits: props.resources.limits, extra: [tempoVolumeRule('tempo')] }),
    );
    props.grafana?.addDataSource(this.dataSource, this.endpoint);
    props.grafana?.addDashboard(
      componentDashboard({
        uid: 'sightline-tempo',
        title: 'Tempo',
        description: "Health, ingestion, failures and saturation of the stack's Tempo.",
        health: [upPanel('tempo', 'Tempo')],
        throughput: [
          {
            title: 'Spans received',
            description: 'Spans received per second (from the collector).',
            unit: 'short',
            queries: [{ expr: 'sum by (instance) (rate(tempo_distributor_spans_received_total{job="tempo"}[5m]))', legend: '{{instance}}' }],
          },
        ],
        errors: [
          {
            title: 'Discarded spans',
            description: 'Spans Tempo refused per second, by reason: those traces are incomplete.',
            unit: 'short',
            queries: [{ expr: 'sum by (reason) (rate(tempo_discarded_spans_total{job="tempo"}[5m]))', legend: '{{reason}}' }],
          },
          {
            title: 'Span metrics not written',
            description: 'Span-metric samples the metrics-generator failed to write to Prometheus, or had to retry, per second.',
            unit: 'short',
            queries: [
              { expr: 'sum(rate(prometheus_remote_storage_samples_failed_total{job="tempo"}[5m]))', legend: 'failed' },
              { expr: 'sum(rate(prometheus_remote_storage_samples_retried_total{job="tempo"}[5m]))', legend: 'retried' },
            ],
          },
        ],
        saturation: [
          {
            title: 'Live traces',
            description: 'Traces the live-store holds in memory.',
            unit: 'short',
            queries: [{ expr: 'sum by (instance) (tempo_live_store_live_traces{job="tempo"})', legend: '{{instance}}' }],
          },
          volumePanel('tempo-data'),
          memoryPanel('tempo', 'Tempo'),
        ],
      }),
    );
  }

  /** Grafana's datasource for this Tempo, linked to logs, span metrics and the service map by datasource uid. */
  public get dataSource(): GrafanaDataSource {
    const { jsonData, ...head } = tempoDataSource(this.props.logsDataSourceUid);
    return { ...head, url: this.endpoint.url(), jsonData };
  }

  private renderConfig(): TempoConfig {
    const p = this.props;
    // Since Tempo 2.7 receivers bind localhost unless told otherwise, which no other pod can reach.
    const listen = (port: number): ReceiverEndpoint => ({ endpoint: `0.0.0.0:${port}` });
    const r = Tempo.RECEIVER_PORTS;
    const { backend, ...blocks } = tempoBackend(p.objectStore, `${Tempo.DATA_DIR}/blocks`);
    return {
      stream_over_http_enabled: true,
      server: { http_listen_port: Tempo.PORT, grpc_listen_port: Tempo.GRPC_PORT },
      distributor: {
        receivers: {
          otlp: { protocols: { grpc: listen(r.otlpGrpc), http: listen(r.otlpHttp) } },
          jaeger: {
            protocols: {
              grpc: listen(r.jaegerGrpc),
              thrift_http: listen(r.jaegerThriftHttp),
              thrift_compact: listen(r.jaegerThriftCompact),
              thrift_binary: listen(r.jaegerThriftBinary),
            },
          },
          zipkin: listen(r.zipkin),
        },
      },
      // Sets the Go runtime's soft memory limit from the container's cgroup limit (at Tempo's default ratio,
      // 0.8), so the garbage collector works harder before the kernel kills the pod.
      memory: { automemlimit_enabled: true },
      live_store: { max_block_bytes: p.maxBlockBytes, max_block_duration: goDuration(p.maxBlockDuration) },
      backend_worker: {
        compaction: { block_retention: goDuration(p.blockRetention), compacted_block_retention: goDuration(p.compactedBlockRetention) },
      },
      query_frontend: { search: { duration_slo: goDuration(p.searchDurationSlo) } },
      metrics_generator: {
        storage: {
          path: `${Tempo.DATA_DIR}/generator/wal`,
          remote_write: p.remoteWrite.map((receiver) => ({ url: receiver.url(), send_exemplars: true })),
        },
      },
      // The WAL stays on the volume whatever the backend: it is the live-store's, local by design.
      storage: {
        trace: { backend, wal: { path: `${Tempo.DATA_DIR}/wal` }, ...blocks },
      },
      // Tempo 3 only accepts overrides scoped under `defaults`; the processors run for every tenant.
      overrides: { defaults: { metrics_generator: { processors: ['service-graphs', 'span-metrics'] } } },
      usage_report: { reporting_enabled: false },
    };
  }
}

/**
 * `storage.trace.backend` and its block. Credentials are read by the clients from the environment, never from
 * the config: minio-go's chain takes AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or the IRSA token), Google's
 * default credentials the key file GOOGLE_APPLICATION_CREDENTIALS names, and the Azure backend
 * AZURE_STORAGE_KEY (tempodb/backend/azure at v3.0.3).
 */
function tempoBackend(store: ObjectStore, localPath: string): Omit<TempoConfig['storage']['trace'], 'wal'> {
  switch (store.type) {
    case 'filesystem':
      return { backend: 'local', local: { path: localPath } };
    case 's3':
      return {
        backend: 's3',
        s3: { endpoint: store.endpoint, bucket: store.bucket, region: store.region, forcepathstyle: store.forcePathStyle, insecure: store.insecure },
      };
    case 'gcs':
      return { backend: 'gcs', gcs: { bucket_name: store.bucket } };
    case 'azure':
      return {
        backend: 'azure',
        azure: {
          storage_account_name: store.accountName,
          container_name: store.container,
          use_federated_token: store.credentials.type === 'workloadIdentity' ? true : undefined,
        },
      };
  }
}

/**
 * Grafana's Tempo datasource, wherever Tempo runs: the same uid and links for the stack's Tempo and an external
 * one. Span metrics and the service map query the metrics datasource: an external Tempo's metrics-generator must
 * write them there (its operator's configuration).
 */
function tempoDataSource(logsDataSourceUid: string | undefined): Omit<GrafanaDataSource, 'url'> {
  const jsonData: TempoDataSourceJsonData = {
    tracesToLogsV2:
      logsDataSourceUid === undefined
        ? undefined
        : {
            datasourceUid: logsDataSourceUid,
            // OpenTelemetry's service.name is the `service_name` label of the log stream (Promtail and Loki's
            // OTLP endpoint both write it), so a span finds its own service's logs.
            tags: [{ key: 'service.name', value: 'service_name' }],
            // Log lines are written a little before and after the span's own timestamps.
            spanStartTimeShift: '-5m',
            spanEndTimeShift: '5m',
            filterByTraceID: true,
            filterBySpanID: false,
          },
    tracesToMetrics: {
      // Span metrics are remote-written to Prometheus, labelled `service` by the metrics-generator.
      datasourceUid: DATASOURCE_UID.prometheus,
      tags: [{ key: 'service.name', value: 'service' }],
      spanStartTimeShift: '-5m',
      spanEndTimeShift: '5m',
      queries: SPAN_METRICS_QUERIES,
    },
    serviceMap: { datasourceUid: DATASOURCE_UID.prometheus },
    nodeGraph: { enabled: true },
    search: { hide: false },
    // Needs stream_over_http_enabled in tempo.yaml.
    streamingEnabled: { search: true, metrics: true },
  };
  return { name: 'Tempo', uid: DATASOURCE_UID.tempo, type: 'tempo', jsonData };
}

/**
 * A Tempo the stack does not run (`tempo.external`, e.g. one in microservices mode): nothing is rendered for it
 * but Grafana's Tempo datasource, which queries its `queryUrl`. The collector sends traces over OTLP/HTTP to its
 * `writeUrl`, with its tenant and credentials.
 *
 * @param logsDataSourceUid uid of the logs datasource trace-to-logs opens
 */
export function externalTempo(backend: ExternalBackend, props: { readonly grafana?: GrafanaHub; readonly logsDataSourceUid?: string }): TraceStore {
  props.grafana?.addExternalDataSource(tempoDataSource(props.logsDataSourceUid), backend);
  return { otlp: SignalTarget.external(backend) };
}

/**
 * Trace-to-metrics queries over the span metrics of the span's service. `$${__tags}` reaches Grafana as
 * `${__tags}` (provisioning expands a single `$`), which it fills with `service="<the span's service>"`.
 */
const SPAN_METRICS_QUERIES: TempoDataSourceJsonData['tracesToMetrics']['queries'] = [
  { name: 'Request rate', query: 'sum by (span_name) (rate(traces_spanmetrics_calls_total{$${__tags}}[5m]))' },
  {
    name: 'p95 latency',
    query: 'histogram_quantile(0.95, sum by (le, span_name) (rate(traces_spanmetrics_latency_bucket{$${__tags}}[5m])))',
  },
];

/**
 * A duration in Go's syntax (`336h`, `1h30m`, `500ms`), which Tempo's `time.Duration` fields require: Tempo
 * refuses the `d`, `w` and `y` units that the stack's values accept.
 */
function goDuration(d: string): string {
  // Whole milliseconds, the stack's smallest unit, counted exactly (no sum of fractional seconds to round).
  let millis = nanoseconds(d) / 1_000_000n;
  const parts: string[] = [];
  for (const [unit, size] of [
    ['h', 3_600_000n],
    ['m', 60_000n],
    ['s', 1000n],
    ['ms', 1n],
  ] as const) {
    const n = millis / size;
    if (n > 0n) parts.push(`${n}${unit}`);
    millis -= n * size;
  }
  return parts.join('') || '0s';
}

/**
 * Alerts on Tempo. Metrics (Tempo 3.0.3): `tempo_discarded_spans_total` with `reason`
 * (modules/overrides/discarded_spans.go), `tempo_live_store_local_failed_flushes_total` and
 * `tempo_live_store_failed_completions_total` (modules/livestore), and the metrics-generator's remote write,
 * registered without prefix by Prometheus's remote storage (v0.311.3, storage/remote/queue_manager.go):
 * `prometheus_remote_storage_samples_failed_total` and `prometheus_remote_storage_samples_retried_total`.
 */
/**
 * Span volume beyond what one Tempo is sized for: Tempo's sizing guide gives 6 to 10MB/s of received traffic
 * per live-store replica, and the monolithic pod runs every component; 5MB/s (`tempo_distributor_bytes_received_total`,
 * proto bytes after limits, modules/distributor/distributor.go) leaves it headroom.
 */
export function tempoVolumeRule(job: string): AlertingRule {
  return alertingRule({
    alert: 'TempoBeyondMonolithicSizing',
    expr: `sum by (job) (rate(tempo_distributor_bytes_received_total{job="${job}"}[1h])) > 5e6`,
    for: '1h',
    severity: 'warning',
    summary: 'Tempo receives more than 5MB/s of spans, beyond what one instance is sized for',
    description:
      "Tempo has received more than 5MB/s of spans (about 10,000 spans/s at upstream's typical 500 bytes a span) for an hour: upstream sizes one live-store for 6 to 10MB/s, and the one monolithic pod also builds blocks, compacts and answers queries. Sample in the collector, or move traces to a Tempo in microservices mode as an external backend (README, Scaling).",
  });
}

export function tempoRules(job: string): RuleGroup {
  const self = `job="${job}"`;
  const rate = (metric: string) => `sum by (job, instance) (rate(${metric}{${self}}[5m]))`;
  return {
    name: 'tempo',
    rules: [
      alertingRule({
        alert: 'TempoDiscardingSpans',
        expr: `sum by (job, instance, reason) (rate(tempo_discarded_spans_total{${self}}[5m])) > 0`,
        for: '15m',
        severity: 'warning',
        summary: 'Tempo discards spans: {{ $labels.reason }}',
        description:
          'Tempo has refused spans for 15 minutes with reason {{ $labels.reason }}: those traces are incomplete. rate_limited and live_traces_exceeded mean more traffic than the limits allow (raise them or sample in the collector); trace_too_large means one application writes huge traces.',
      }),
      alertingRule({
        alert: 'TempoFlushesFailing',
        expr: `${rate('tempo_live_store_local_failed_flushes_total')} + ${rate('tempo_live_store_failed_completions_total')} > 0`,
        for: '10m',
        severity: 'warning',
        summary: 'Tempo {{ $labels.instance }} fails to write trace blocks',
        description:
          "Tempo's live-store has failed to complete or flush trace blocks to its volume for 10 minutes: recent traces pile up in memory and in the WAL and are lost if the pod restarts. The Tempo log names the error; a full volume (see the volume alerts) is the usual cause.",
      }),
      alertingRule({
        alert: 'TempoGeneratorRemoteWriteFailing',
        expr: `${rate('prometheus_remote_storage_samples_failed_total')} + ${rate('prometheus_remote_storage_samples_retried_total')} > 0`,
        for: '15m',
        severity: 'warning',
        summary: 'Tempo {{ $labels.instance }} fails to write span metrics to Prometheus',
        description:
          'The metrics-generator has failed to remote-write span metrics and the service graph to Prometheus for 15 minutes: request rates, latencies and the service map in Grafana have gaps. Check that Prometheus is up and accepts remote write (its log shows rejected samples, e.g. out of order), and the Tempo log for the HTTP status.',
      }),
    ],
  };
}

/** The `tempo` section of the values. */
export const tempoValues = z
  .strictObject({
    blockRetention: duration()
      .default('24h')
      .describe('How long traces are kept (backend_worker.compaction.block_retention; compactor.compaction.block_retention in Tempo 2.x).'),
    compactedBlockRetention: duration()
      .default('1h')
      .describe('How long a block replaced by compaction is kept for queries in flight (backend_worker.compaction.compacted_block_retention).'),
    maxBlockBytes: z
      .int({ error: 'is not a number of bytes (a whole number)' })
      .min(1, { error: 'must be a positive number of bytes' })
      .optional()
      .describe(
        "Size at which the live-store cuts its head block (live_store.max_block_bytes; ingester.max_block_bytes in Tempo 2.x). Default: Tempo's own (50 MiB); a small value cuts many small backend blocks.",
      ),
    maxBlockDuration: duration()
      .default('5m')
      .describe('Age at which the live-store cuts its head block (live_store.max_block_duration; ingester.max_block_duration in Tempo 2.x).'),
    searchDurationSlo: duration()
      .default('5s')
      .describe('Searches faster than this count as within SLO in the query-frontend metrics (query_frontend.search.duration_slo).'),
    storage: quantity()
      .default('10Gi')
      .describe('Size of the PersistentVolumeClaim mounted at /var/tempo: WALs and local state, and the trace blocks with objectStore filesystem.'),
    objectStore: objectStoreValues({}).describe(
      'Where trace blocks are kept (storage.trace.backend): filesystem (the volume), or an object store (s3, gcs, azure). Tempo reads one backend only: see the README before switching.',
    ),
    replicas: z
      .int({ error: 'is not a replica count (0 or 1)' })
      .min(0, { error: 'is not a replica count: use 1, or 0 to stop Tempo and keep its data' })
      .max(1, {
        error:
          'is more than 1: Tempo runs monolithic as one replica (upstream no longer documents several monolithic instances, and Tempo 3 scales out only in microservices mode, with a Kafka-compatible queue between its components). For more, run Tempo in microservices mode and point the stack at it as an external backend (see the README, Object storage and Loki HA)',
      })
      .default(1),
    resources: resources({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '2Gi' } }),
    external: externalBackendValues({ write: 'https://tempo-distributor.example.com:4318', query: 'https://tempo-query-frontend.example.com:3200' })
      .superRefine((backend, ctx) => {
        // The collector's OTLP/HTTP exporter appends the signal's path itself: a full path would be sent to twice.
        if (/\/v1\/traces\/?$/.test(new URL(backend.writeUrl).pathname)) {
          ctx.addIssue({
            code: 'custom',
            path: ['writeUrl'],
            input: backend.writeUrl,
            message: 'is not an OTLP/HTTP base URL: leave /v1/traces out, the collector appends it',
          });
        }
      })
      .optional()
      .describe(
        "A Tempo the stack does not run (e.g. microservices mode): writeUrl is its OTLP/HTTP base (the distributor's, or a gateway's), queryUrl its query API. The collector sends traces there and Grafana queries it; the embedded Tempo is not rendered and the rest of this section is ignored. Default: none (the embedded Tempo).",
      ),
  })
  .prefault({});
