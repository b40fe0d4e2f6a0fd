import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { componentDashboard, upPanel } from './component-dashboard.ts';
import { ConfigFiles } from './shared/config-file.ts';
import type { GrafanaHub } from './shared/datasources.ts';
import { TENANT_HEADER } from './shared/backend.ts';
import { Endpoint } from './shared/endpoint.ts';
import type { SignalTarget } from './shared/signal-target.ts';
import { podPort } from './shared/network.ts';
import { imageVersion, recommendedLabels, selectorLabels, type ComponentIdentity } from './shared/labels.ts';
import { alertingRule, podScrapeJob, type MetricsHub, type RuleGroup } from './shared/scrape.ts';
import { clusterReader, hardenedContainer, size, stackDeployment, stackService, type ContainerResourceValues } from './shared/workload.ts';
import { IMAGES } from './versions.ts';
import { port, resources } from './shared/fields.ts';

/**
 * Ports the collector pod listens on besides its receivers, so that values can refuse a receiver port that
 * would collide with one of them.
 */
export const OTEL_COLLECTOR_OWN_PORTS = { 'health check': 13133, 'internal metrics': 8888 } as const;

/** An endpoint to bind (`host:port`). */
interface ServerEndpoint {
  readonly endpoint: string;
}

/** `processors.memory_limiter`. @see https://github.com/open-telemetry/opentelemetry-collector/tree/v0.159.0/processor/memorylimiterprocessor */
export interface MemoryLimiterConfig {
  readonly check_interval: string;
  readonly limit_percentage: number;
  readonly spike_limit_percentage: number;
}

/** `processors.k8s_attributes`. @see https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/v0.159.0/processor/k8sattributesprocessor */
export interface K8sAttributesConfig {
  readonly auth_type: 'serviceAccount';
  readonly passthrough: boolean;
  readonly extract: { readonly metadata: readonly string[] };
  readonly pod_association: ReadonlyArray<{
    readonly sources: ReadonlyArray<{ readonly from: 'resource_attribute'; readonly name: string } | { readonly from: 'connection' }>;
  }>;
}

/** `processors.batch`: upstream's defaults (8192 items or 200ms) suit a gateway. */
export type BatchConfig = Readonly<Record<string, never>>;

/** `exporters.otlp_grpc/<name>`. */
export interface OtlpGrpcExporterConfig {
  /** `host:port`. */
  readonly endpoint: string;
  readonly tls: { readonly insecure: boolean };
}

/** `exporters.otlp_http/<name>`. */
export interface OtlpHttpExporterConfig {
  /** Base URL; the exporter appends `/v1/traces`, `/v1/metrics` or `/v1/logs`. */
  readonly endpoint: string;
  /** Sent with every request: the tenant of an external backend. @default - none */
  readonly headers?: Readonly<Record<string, string>>;
  /** The authenticator extension that signs every request. @default - none */
  readonly auth?: { readonly authenticator: AuthExtensionId };
}

/** `extensions.basicauth/<name>` as a client authenticator, the password read from a mounted file. */
export interface BasicAuthClientConfig {
  readonly client_auth: { readonly username: string; readonly password_file: string };
}

/** `extensions.bearertokenauth/<name>`, the token read from a mounted file (and re-read when it changes). */
export interface BearerTokenAuthConfig {
  readonly filename: string;
}

/** Ids of the components Sightline configures, as pipelines refer to them. */
type ReceiverId = keyof OtelCollectorConfig['receivers'];
type ProcessorId = keyof OtelCollectorConfig['processors'];
type ExporterId = `otlp_grpc/${string}` | `otlp_http/${string}`;
type AuthExtensionId = `basicauth/${string}` | `bearertokenauth/${string}`;
type ExtensionId = 'health_check' | AuthExtensionId;

/** `service.pipelines.<signal>`. */
export interface PipelineConfig {
  readonly receivers: readonly ReceiverId[];
  readonly processors: readonly ProcessorId[];
  readonly exporters: readonly ExporterId[];
}

/**
 * The collector's configuration file, as far as Sightline writes it, with the component names of 0.159.0
 * (`otlp_grpc`, `otlp_http`, `k8s_attributes`; the old names are deprecated aliases). Keys as upstream names them.
 *
 * @see https://opentelemetry.io/docs/collector/configuration/
 */
export interface OtelCollectorConfig {
  readonly extensions: { readonly health_check: ServerEndpoint & { readonly path: string } } & Readonly<
    Record<`basicauth/${string}`, BasicAuthClientConfig> & Record<`bearertokenauth/${string}`, BearerTokenAuthConfig>
  >;
  readonly receivers: { readonly otlp: { readonly protocols: { readonly grpc: ServerEndpoint; readonly http: ServerEndpoint } } };
  readonly processors: {
    readonly memory_limiter: MemoryLimiterConfig;
    readonly k8s_attributes: K8sAttributesConfig;
    readonly batch: BatchConfig;
  };
  readonly exporters: Readonly<Record<ExporterId, OtlpGrpcExporterConfig | OtlpHttpExporterConfig>>;
  readonly service: {
    readonly extensions: readonly ExtensionId[];
    readonly telemetry: {
      readonly metrics: {
        readonly readers: ReadonlyArray<{
          readonly pull: {
            readonly exporter: {
              readonly prometheus: {
                readonly host: string;
                readonly port: number;
                readonly without_scope_info: boolean;
                readonly without_units: boolean;
                readonly without_type_suffix: boolean;
              };
            };
          };
        }>;
      };
    };
    readonly pipelines: { readonly traces: PipelineConfig; readonly logs?: PipelineConfig; readonly metrics?: PipelineConfig };
  };
}

/** Properties of {@link OtelCollector}. */
export interface OtelCollectorProps {
  /** Namespace of every object of the chart. */
  readonly namespace: string;
  /** Port of the OTLP/gRPC receiver. */
  readonly otlpGrpcPort: number;
  /** Port of the OTLP/HTTP receiver. */
  readonly otlpHttpPort: number;
  /** Pods of the gateway. */
  readonly replicas: number;
  /** Requests and limits of the collector container; the memory limiter works in shares of `limits.memory`. */
  readonly resources: ContainerResourceValues;
  /** Where traces go: Tempo's OTLP/gRPC receiver, or an external OTLP/HTTP base URL. */
  readonly traces: SignalTarget;
  /** Where logs go: an OTLP/HTTP base URL (Loki's `/otlp`). @default - no logs pipeline */
  readonly logs?: SignalTarget;
  /**
   * Where metrics go: OTLP/HTTP base URLs (Prometheus's `/api/v1/otlp`), each sent every metric (the two copies
   * of a Prometheus pair each need all of them). @default - no metrics pipeline
   */
  readonly metricsOtlp?: readonly SignalTarget[];
  /** Where the collector contributes the scrape job of its internal metrics. @default - not scraped */
  readonly metrics?: MetricsHub;
  /** Where the component's dashboard goes. @default - no dashboard */
  readonly grafana?: GrafanaHub;
}

/**
 * The OpenTelemetry Collector (contrib distribution) as the stack's OTLP gateway: applications send traces,
 * logs and metrics to one address; the collector protects itself with a memory limiter, adds Kubernetes
 * metadata of the sending pod, batches, and forwards each signal to its store.
 */
export class OtelCollector extends Chart {
  /** The image's user. */
  private static readonly USER = 10001;
  /** The image reads its configuration from this folder (`--config` of its default command). */
  private static readonly CONFIG_DIR = '/etc/otelcol-contrib';
  private static readonly HEALTH_CHECK_PORT = OTEL_COLLECTOR_OWN_PORTS['health check'];
  private static readonly METRICS_PORT = OTEL_COLLECTOR_OWN_PORTS['internal metrics'];
  /** Every pipeline's processors: shed load before doing any work, enrich, then batch what is left. */
  private static readonly PROCESSORS: readonly ProcessorId[] = ['memory_limiter', 'k8s_attributes', 'batch'];

  /** OTLP/gRPC receiver, addressed as `host:port`. */
  public readonly otlpGrpcEndpoint: Endpoint;
  /** OTLP/HTTP receiver base; SDKs append `/v1/traces`, `/v1/metrics`, `/v1/logs`. */
  public readonly otlpHttpEndpoint: Endpoint;
  /** The Deployment running the collector. */
  public readonly deployment: kplus.Deployment;
  /** The ConfigMap holding `config.yaml`. */
  public readonly config: ConfigFiles;

  private readonly props: OtelCollectorProps;

  public constructor(scope: Construct, id: string, props: OtelCollectorProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    this.props = props;
    const identity: ComponentIdentity = { name: 'otel-collector', component: 'telemetry-gateway', version: imageVersion(IMAGES.otelCollector) };
    const labels = recommendedLabels(identity);

    const { serviceAccount, clusterRole } = clusterReader(this, { name: 'otel-collector', namespace: props.namespace, labels });
    // What k8s_attributes watches for the extract list in renderConfig (its README, "Role-based access
    // control", contrib v0.159.0): pods and namespaces always, ReplicaSets for k8s.deployment.name (a pod's
    // owner is the ReplicaSet, whose owner names the Deployment). The StatefulSet, DaemonSet and Job names come
    // from the pod's own owner references and k8s.node.name from its spec: no node, Deployment, StatefulSet,
    // DaemonSet or Job is read. Extracting node labels, k8s.node.uid or k8s.cronjob.uid would need more.
    clusterRole.allowRead(kplus.ApiResource.PODS, kplus.ApiResource.NAMESPACES, kplus.ApiResource.REPLICA_SETS);

    this.config = new ConfigFiles(this, 'Config', { name: 'otel-collector-config', labels, files: { 'config.yaml': this.renderConfig() } });

    this.deployment = stackDeployment(this, 'Deployment', {
      identity,
      name: 'otel-collector',
      replicas: props.replicas,
      user: OtelCollector.USER,
      persistent: false,
      serviceAccount,
      configChecksum: this.config.checksum,
    });
    const memoryLimit = size(props.resources.limits.memory).toMebibytes();
    const container = this.deployment.addContainer({
      name: 'otel-collector',
      ...hardenedContainer({ image: IMAGES.otelCollector, user: OtelCollector.USER, resources: props.resources }),
      args: [`--config=${OtelCollector.CONFIG_DIR}/config.yaml`],
      ports: [
        { name: 'otlp-grpc', number: props.otlpGrpcPort },
        { name: 'otlp-http', number: props.otlpHttpPort },
        { name: 'health', number: OtelCollector.HEALTH_CHECK_PORT },
        { name: 'metrics', number: OtelCollector.METRICS_PORT },
      ],
      envVariables: {
        // Upstream's advice: a Go soft limit at 80% of the container limit, under the memory limiter's checks.
        GOMEMLIMIT: kplus.EnvValue.fromValue(`${Math.floor(memoryLimit * 0.8)}MiB`),
      },
      readiness: kplus.Probe.fromHttpGet('/', {
        port: OtelCollector.HEALTH_CHECK_PORT,
        periodSeconds: Duration.seconds(10),
        timeoutSeconds: Duration.seconds(5),
        failureThreshold: 3,
      }),
      liveness: kplus.Probe.fromHttpGet('/', {
        port: OtelCollector.HEALTH_CHECK_PORT,
        periodSeconds: Duration.seconds(15),
        timeoutSeconds: Duration.seconds(5),
        failureThreshold: 3,
      }),
    });
    container.mount(OtelCollector.CONFIG_DIR, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' }), {
      readOnly: true,
    });

    const service = stackService(this, 'Service', {
      name: 'otel-collector',
      identity,
      ports: [
        { name: 'otlp-grpc', port: props.otlpGrpcPort },
        { name: 'otlp-http', port: props.otlpHttpPort },
      ],
    });
    this.otlpGrpcEndpoint = Endpoint.fromService(service, props.otlpGrpcPort, { scheme: 'grpc' });
    this.otlpHttpEndpoint = Endpoint.fromService(service, props.otlpHttpPort, { scheme: 'http' });
    for (const store of [props.traces, props.logs, ...(props.metricsOtlp ?? [])]) store?.connect(this.deployment, container);

    // Each pod is scraped on its own: through the Service, replicas would answer in turn and their counters
    // would jump back and forth.
    props.metrics?.addScrapeJob(
      podScrapeJob({ jobName: 'otel-collector', namespace: props.namespace, selector: selectorLabels(identity), portName: 'metrics' }),
      podPort(this.deployment, { port: OtelCollector.METRICS_PORT, protocol: 'TCP' }),
    );
    props.metrics?.addRuleGroup(otelCollectorRules('otel-collector'));
    props.grafana?.addDashboard(otelCollectorDashboard('otel-collector'));
  }

  private renderConfig(): OtelCollectorConfig {
    const p = this.props;
    // Collector servers bind localhost unless told otherwise, which neither the kubelet nor Prometheus reach.
    const listen = (port: number): ServerEndpoint => ({ endpoint: `0.0.0.0:${port}` });
    const pipeline = (...exporters: ExporterId[]): PipelineConfig => ({ receivers: ['otlp'], processors: OtelCollector.PROCESSORS, exporters });
    const traces = exporter('tempo', p.traces);
    const logs = p.logs && exporter('loki', p.logs);
    // One exporter per metrics receiver, each with a queue and retries of its own: numbered for the pods of a pair.
    const metricsOtlp = p.metricsOtlp ?? [];
    const metrics = metricsOtlp.map((target, i) => exporter(metricsOtlp.length === 1 ? 'prometheus' : `prometheus-${i}`, target));
    const authExtensions = Object.assign({}, ...[traces, logs, ...metrics].map((e) => e?.extension));
    return {
      extensions: { health_check: { ...listen(OtelCollector.HEALTH_CHECK_PORT), path: '/' }, ...authExtensions },
      receivers: { otlp: { protocols: { grpc: listen(p.otlpGrpcPort), http: listen(p.otlpHttpPort) } } },
      processors: {
        // Percentages of the container's memory limit (read from the cgroup): 80% hard, 65% soft.
        memory_limiter: { check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 15 },
        k8s_attributes: {
          auth_type: 'serviceAccount',
          passthrough: false,
          extract: {
            metadata: [
              'k8s.namespace.name',
              'k8s.pod.name',
              'k8s.pod.uid',
              'k8s.pod.start_time',
              'k8s.node.name',
              'k8s.deployment.name',
              'k8s.statefulset.name',
              'k8s.daemonset.name',
              'k8s.job.name',
            ],
          },
          // A pod that states its own IP or UID (the downward API in OTEL_RESOURCE_ATTRIBUTES) is found even
          // through a proxy; otherwise the sender's address identifies it.
          pod_association: [
            { sources: [{ from: 'resource_attribute', name: 'k8s.pod.ip' }] },
            { sources: [{ from: 'resource_attribute', name: 'k8s.pod.uid' }] },
            { sources: [{ from: 'connection' }] },
          ],
        },
        batch: {},
      },
      exporters: Object.assign({}, traces.exporter, logs?.exporter, ...metrics.map((m) => m.exporter)),
      service: {
        extensions: ['health_check', ...(Object.keys(authExtensions) as AuthExtensionId[])],
        telemetry: {
          metrics: {
            // Replaces the default reader, which binds localhost; the three flags keep upstream's default metric names.
            readers: [
              {
                pull: {
                  exporter: {
                    prometheus: {
                      host: '0.0.0.0',
                      port: OtelCollector.METRICS_PORT,
                      without_scope_info: true,
                      without_units: true,
                      without_type_suffix: true,
                    },
                  },
                },
              },
            ],
          },
        },
        pipelines: {
          traces: pipeline(traces.id),
          logs: logs && pipeline(logs.id),
          metrics: metrics.length > 0 ? pipeline(...metrics.map((m) => m.id)) : undefined,
        },
      },
    };
  }
}

/**
 * The exporter `<type>/<name>` sending to `target`, and the authenticator extension it needs: plaintext OTLP/gRPC
 * to a store of the stack addressed as `host:port` (in-cluster traffic), OTLP/HTTP otherwise, with an external
 * backend's tenant as a header and its credentials read by `basicauth` or `bearertokenauth` from the mounted file.
 */
function exporter(
  name: string,
  target: SignalTarget,
): {
  readonly id: ExporterId;
  readonly exporter: Record<ExporterId, OtlpGrpcExporterConfig | OtlpHttpExporterConfig>;
  readonly extension?: Record<AuthExtensionId, BasicAuthClientConfig | BearerTokenAuthConfig>;
} {
  if (target.grpc) {
    const id = `otlp_grpc/${name}` as const;
    return { id, exporter: { [id]: { endpoint: target.address, tls: { insecure: true } } } };
  }
  const id = `otlp_http/${name}` as const;
  const auth = target.backend?.auth;
  const files = target.credentialFiles;
  const extension: [AuthExtensionId, BasicAuthClientConfig | BearerTokenAuthConfig] | undefined =
    auth?.type === 'basic'
      ? [`basicauth/${name}`, { client_auth: { username: auth.username, password_file: files.passwordFile! } }]
      : auth?.type === 'bearer'
        ? [`bearertokenauth/${name}`, { filename: files.tokenFile! }]
        : undefined;
  const tenant = target.backend?.tenant;
  const config: OtlpHttpExporterConfig = {
    endpoint: target.address,
    headers: tenant === undefined ? undefined : { [TENANT_HEADER]: tenant },
    auth: extension && { authenticator: extension[0] },
  };
  return { id, exporter: { [id]: config }, extension: extension && { [extension[0]]: extension[1] } };
}

/** The telemetry signals a collector counter exists for, as the suffix of its name and in words. */
const SIGNALS = [
  ['spans', 'spans'],
  ['metric_points', 'metric points'],
  ['log_records', 'log records'],
] as const;

/**
 * The rate of one collector counter over every signal, labelled `signal`: one series per signal, since a
 * pipeline that never saw a signal has no series for it (a sum across signals would then be empty).
 */
function perSignal(prefix: string, job: string, by: string): string {
  const rates = SIGNALS.map(([suffix, words]) => `label_replace(rate(${prefix}${suffix}{job="${job}"}[5m]), "signal", "${words}", "", "")`);
  return `sum by (${by}, signal) (${rates.join(' or ')})`;
}

/**
 * Alerts on the OpenTelemetry Collector. Metrics (collector v0.159.0, named as its Prometheus reader exposes
 * them with `without_type_suffix`: no `_total`): `otelcol_receiver_refused_<signal>` (receiver/receiverhelper
 * metadata.yaml), `otelcol_exporter_send_failed_<signal>`, `otelcol_exporter_enqueue_failed_<signal>`,
 * `otelcol_exporter_queue_size` and `otelcol_exporter_queue_capacity` (exporter/exporterhelper metadata.yaml).
 */
export function otelCollectorRules(job: string): RuleGroup {
  return {
    name: 'otel-collector',
    rules: [
      alertingRule({
        alert: 'OtelCollectorRefusingData',
        expr: `${perSignal('otelcol_receiver_refused_', job, 'namespace, pod, receiver')} > 0`,
        for: '10m',
        severity: 'warning',
        summary: 'Collector {{ $labels.pod }} refuses {{ $labels.signal }}',
        description:
          'The collector pod {{ $labels.pod }} has refused {{ $labels.signal }} from applications on receiver {{ $labels.receiver }} for 10 minutes, almost always its memory limiter protecting it: senders retry and then drop data. Give the collector more replicas or memory (otelCollector.replicas, resources.limits.memory), or find the sender whose volume jumped.',
      }),
      alertingRule({
        alert: 'OtelCollectorSendFailing',
        expr: `${perSignal('otelcol_exporter_send_failed_', job, 'namespace, pod, exporter')} > 0`,
        for: '10m',
        severity: 'warning',
        summary: 'Collector {{ $labels.pod }} fails to send {{ $labels.signal }} through {{ $labels.exporter }}',
        description:
          'The collector pod {{ $labels.pod }} has failed to deliver {{ $labels.signal }} through exporter {{ $labels.exporter }} for 10 minutes, after retries: that data is lost. Check the backend it sends to (Tempo, Loki or Prometheus: is it up, does its log show rejected writes?) and the collector log for the error.',
      }),
      alertingRule({
        alert: 'OtelCollectorQueueFull',
        expr: `max by (namespace, pod, exporter) (otelcol_exporter_queue_size{job="${job}"} / otelcol_exporter_queue_capacity{job="${job}"}) > 0.8`,
        for: '10m',
        severity: 'warning',
        summary: 'Collector {{ $labels.pod }}: the {{ $labels.exporter }} queue is {{ $value | humanizePercentage }} full',
        description:
          "The sending queue of exporter {{ $labels.exporter }} on collector pod {{ $labels.pod }} has been over 80% full for 10 minutes: the backend takes data more slowly than applications send it, and once the queue is full new data is dropped. Check the backend's health and latency, or add collector replicas.",
      }),
      alertingRule({
        alert: 'OtelCollectorDroppingData',
        expr: `${perSignal('otelcol_exporter_enqueue_failed_', job, 'namespace, pod, exporter')} > 0`,
        for: '5m',
        severity: 'warning',
        summary: 'Collector {{ $labels.pod }} drops {{ $labels.signal }}: the {{ $labels.exporter }} queue is full',
        description:
          "Collector pod {{ $labels.pod }} has dropped {{ $labels.signal }} for 5 minutes because the sending queue of exporter {{ $labels.exporter }} is full: that data is lost. The backend is down or too slow; see OtelCollectorSendFailing and the backend's own alerts.",
      }),
    ],
  };
}

/** The collector's dashboard: per signal, what it accepts, refuses, fails to send, and how full its queues are. */
function otelCollectorDashboard(job: string) {
  const bySignal = (prefix: string, by: string) =>
    SIGNALS.map(([suffix, words]) => ({ expr: `sum by (${by}) (rate(${prefix}${suffix}{job="${job}"}[5m]))`, legend: `{{${by}}} ${words}` }));
  return componentDashboard({
    uid: 'sightline-otel-collector',
    title: 'OpenTelemetry Collector',
    description: 'Health, throughput, failures and saturation of the OTLP gateway.',
    health: [upPanel(job, 'collector', '{{pod}}')],
    throughput: [
      {
        title: 'Accepted',
        description: 'Items applications sent that the collector accepted, per second.',
        unit: 'short',
        queries: bySignal('otelcol_receiver_accepted_', 'pod'),
      },
    ],
    errors: [
      {
        title: 'Refused',
        description: 'Items the receivers refused per second (the memory limiter pushing back).',
        unit: 'short',
        queries: bySignal('otelcol_receiver_refused_', 'pod'),
      },
      {
        title: 'Failed to send',
        description: 'Items an exporter failed to deliver after retries, per second: lost.',
        unit: 'short',
        queries: bySignal('otelcol_exporter_send_failed_', 'exporter'),
      },
    ],
    saturation: [
      {
        title: 'Sending queues',
        description: "How full each exporter's sending queue is; at 100% new data is dropped.",
        unit: 'percentunit',
        queries: [
          {
            expr: `max by (exporter) (otelcol_exporter_queue_size{job="${job}"} / otelcol_exporter_queue_capacity{job="${job}"})`,
            legend: '{{exporter}}',
          },
        ],
      },
      {
        title: 'Memory',
        description: 'Resident memory of each collector; the memory limiter refuses data at 80% of the container limit.',
        unit: 'bytes',
        queries: [{ expr: `otelcol_process_memory_rss{job="${job}"}`, legend: '{{pod}}' }],
      },
    ],
  });
}

/** The `otelCollector` section of the values. */
export const otelCollectorValues = z
  .strictObject({
    otlpGrpcPort: port().default(4317).describe('Port of the OTLP/gRPC receiver, on the pod and the otel-collector Service.'),
    otlpHttpPort: port().default(4318).describe('Port of the OTLP/HTTP receiver, on the pod and the otel-collector Service.'),
    replicas: z
      .int({ error: 'is not a replica count (a whole number from 1)' })
      .min(1, { error: 'is not a replica count: the gateway needs at least 1 pod' })
      .default(1)
      .describe('Pods of the stateless gateway Deployment.'),
    resources: resources({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } }).describe(
      'Container resources; the memory limiter keeps the collector below a share of limits.memory.',
    ),
  })
  .superRefine((v, ctx) => {
    // Every port the collector pod listens on must be distinct, or one receiver fails to bind at startup.
    const taken = new Map<number, string>(Object.entries(OTEL_COLLECTOR_OWN_PORTS).map(([name, p]) => [p, `the collector's ${name} port`]));
    for (const key of ['otlpGrpcPort', 'otlpHttpPort'] as const) {
      const holder = taken.get(v[key]);
      if (holder === undefined) taken.set(v[key], `otelCollector.${key}`);
      else
        ctx.addIssue({ code: 'custom', path: [key], input: v[key], message: `is already taken by ${holder}; each receiver needs a port of its own` });
    }
  })
  .prefault({});
