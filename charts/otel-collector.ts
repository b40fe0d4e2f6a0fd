import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { ConfigFiles } from './shared/config-file.ts';
import { Endpoint } from './shared/endpoint.ts';
import { podPort } from './shared/network.ts';
import { imageVersion, recommendedLabels, selectorLabels, type ComponentIdentity } from './shared/labels.ts';
import type { MetricsHub } from './shared/scrape.ts';
import { clusterScoped, hardenedContainer, size, stackDeployment, stackService, type ContainerResourceValues } from './shared/workload.ts';
import { IMAGES } from './versions.ts';

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
}

/** Ids of the components Sightline configures, as pipelines refer to them. */
type ReceiverId = keyof OtelCollectorConfig['receivers'];
type ProcessorId = keyof OtelCollectorConfig['processors'];
type ExporterId = `otlp_grpc/${string}` | `otlp_http/${string}`;
type ExtensionId = keyof OtelCollectorConfig['extensions'];

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
  readonly extensions: { readonly health_check: ServerEndpoint & { readonly path: string } };
  readonly receivers: { readonly otlp: { readonly protocols: { readonly grpc: ServerEndpoint; readonly http: ServerEndpoint } } };
  readonly processors: {
    readonly memory_limiter: MemoryLimiterConfig;
    readonly k8s_attributes: K8sAttributesConfig;
    readonly batch: BatchConfig;
  };
  readonly exporters: Readonly<Record<`otlp_grpc/${string}`, OtlpGrpcExporterConfig> & Record<`otlp_http/${string}`, OtlpHttpExporterConfig>>;
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
  /** Where traces go: an OTLP/gRPC endpoint (Tempo's). */
  readonly traces: Endpoint;
  /** Where logs go: an OTLP/HTTP base URL (Loki's `/otlp`). @default - no logs pipeline */
  readonly logs?: Endpoint;
  /** Where metrics go: an OTLP/HTTP base URL (Prometheus's `/api/v1/otlp`). @default - no metrics pipeline */
  readonly metricsOtlp?: Endpoint;
  /** Where the collector contributes the scrape job of its internal metrics. @default - not scraped */
  readonly metrics?: MetricsHub;
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
    if (props.traces.scheme !== 'grpc') {
      throw new Error(`the collector exports traces over OTLP/gRPC, but ${props.traces.hostPort} is an ${props.traces.scheme} endpoint`);
    }
    this.props = props;
    const identity: ComponentIdentity = { name: 'otel-collector', component: 'telemetry-gateway', version: imageVersion(IMAGES.otelCollector) };
    const labels = recommendedLabels(identity);

    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata: { name: 'otel-collector', labels }, automountToken: false });
    // What k8s_attributes watches for the extract list in renderConfig (its README, "Role-based access
    // control", contrib v0.159.0): pods and namespaces always, ReplicaSets for k8s.deployment.name (a pod's
    // owner is the ReplicaSet, whose owner names the Deployment). The StatefulSet, DaemonSet and Job names come
    // from the pod's own owner references and k8s.node.name from its spec: no node, Deployment, StatefulSet,
    // DaemonSet or Job is read. Extracting node labels, k8s.node.uid or k8s.cronjob.uid would need more.
    const clusterRole = clusterScoped(new kplus.ClusterRole(this, 'ClusterRole', { metadata: { name: `${props.namespace}-otel-collector`, labels } }));
    clusterRole.allowRead(kplus.ApiResource.PODS, kplus.ApiResource.NAMESPACES, kplus.ApiResource.REPLICA_SETS);
    clusterScoped(new kplus.ClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: `${props.namespace}-otel-collector`, labels },
      role: clusterRole,
    })).addSubjects(serviceAccount);

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
      readiness: kplus.Probe.fromHttpGet('/', { port: OtelCollector.HEALTH_CHECK_PORT, periodSeconds: Duration.seconds(10), timeoutSeconds: Duration.seconds(5), failureThreshold: 3 }),
      liveness: kplus.Probe.fromHttpGet('/', { port: OtelCollector.HEALTH_CHECK_PORT, periodSeconds: Duration.seconds(15), timeoutSeconds: Duration.seconds(5), failureThreshold: 3 }),
    });
    container.mount(OtelCollector.CONFIG_DIR, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config.configMap, { name: 'config' }), { readOnly: true });

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
    for (const store of [props.traces, props.logs, props.metricsOtlp]) store?.allowFrom(this.deployment);

    // Each pod is scraped on its own: through the Service, replicas would answer in turn and their counters
    // would jump back and forth.
    const selector = Object.entries(selectorLabels(identity)).map(([k, v]) => `${k}=${v}`).join(',');
    props.metrics?.addScrapeJob({
      job_name: 'otel-collector',
      kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [props.namespace] }, selectors: [{ role: 'pod', label: selector }] }],
      relabel_configs: [
        { source_labels: ['__meta_kubernetes_pod_container_port_name'], action: 'keep', regex: 'metrics' },
        { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
        { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
      ],
    }, podPort(this.deployment, { port: OtelCollector.METRICS_PORT, protocol: 'TCP' }));
  }

  private renderConfig(): OtelCollectorConfig {
    const p = this.props;
    // Collector servers bind localhost unless told otherwise, which neither the kubelet nor Prometheus reach.
    const listen = (port: number): ServerEndpoint => ({ endpoint: `0.0.0.0:${port}` });
    const pipeline = (exporter: ExporterId): PipelineConfig => ({ receivers: ['otlp'], processors: OtelCollector.PROCESSORS, exporters: [exporter] });
    return {
      extensions: { health_check: { ...listen(OtelCollector.HEALTH_CHECK_PORT), path: '/' } },
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
      exporters: {
        // In-cluster traffic to Tempo is plaintext gRPC.
        'otlp_grpc/tempo': { endpoint: p.traces.hostPort, tls: { insecure: true } },
        ...(p.logs && { 'otlp_http/loki': { endpoint: p.logs.url() } }),
        ...(p.metricsOtlp && { 'otlp_http/prometheus': { endpoint: p.metricsOtlp.url() } }),
      },
      service: {
        extensions: ['health_check'],
        telemetry: {
          metrics: {
            // Replaces the default reader, which binds localhost; the three flags keep upstream's default metric names.
            readers: [{
              pull: {
                exporter: {
                  prometheus: { host: '0.0.0.0', port: OtelCollector.METRICS_PORT, without_scope_info: true, without_units: true, without_type_suffix: true },
                },
              },
            }],
          },
        },
        pipelines: {
          traces: pipeline('otlp_grpc/tempo'),
          logs: p.logs && pipeline('otlp_http/loki'),
          metrics: p.metricsOtlp && pipeline('otlp_http/prometheus'),
        },
      },
    };
  }
}
