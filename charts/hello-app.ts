import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import * as z from 'zod';
import { componentDashboard } from './component-dashboard.ts';
import type { GrafanaHub } from './shared/datasources.ts';
import { Endpoint } from './shared/endpoint.ts';
import { imageVersion, type ComponentIdentity } from './shared/labels.ts';
import { hardenedContainer, stackDeployment, stackService, type ContainerResourceValues } from './shared/workload.ts';
import { resources } from './shared/fields.ts';
import { DEMO_IMAGE } from './versions.ts';

/** Properties of {@link HelloApp}. */
export interface HelloAppProps {
  /** Namespace of every object of the chart. */
  readonly namespace: string;
  /** The demo image, `repository:tag` (built from services/hello-app; see the README). */
  readonly image: string;
  /** Pods per role. */
  readonly replicas: number;
  /** Requests and limits of each role's container. */
  readonly resources: ContainerResourceValues;
  /** The collector's OTLP/HTTP endpoint, where both roles send traces, metrics and logs. */
  readonly otlpEndpoint: Endpoint;
  /** Where the demo's RED dashboard goes. @default - no dashboard */
  readonly grafana?: GrafanaHub;
}

/** One role of the demo: the same image started as the frontend or the backend. */
interface Role {
  readonly role: 'frontend' | 'backend';
  /** `service.name` of the role's telemetry, and the name of its Deployment and Service. */
  readonly serviceName: string;
}

/**
 * The OpenTelemetry-instrumented demo: `hello-app` (span `index-request`) calls `hello-backend`, so every
 * request is a two-service trace, a service-graph edge, span metrics with exemplars, and logs carrying the
 * trace id both as JSON lines (for Promtail) and as OTLP log records (through the collector's logs pipeline):
 * the proof that each correlation path of the stack works.
 */
export class HelloApp extends Chart {
  /** Port both roles serve HTTP on (the seed prototype's port). */
  public static readonly PORT = 5001;
  /** The image's `node` user. */
  private static readonly USER = 1000;
  /**
   * How long requests in flight at SIGTERM may still run (the service's `DRAIN_TIMEOUT_MS`): the longest
   * `delay_ms` a caller may ask for, 10 s, and the backend call around it.
   */
  private static readonly DRAIN_TIMEOUT_MS = 12_000;
  /** How long the final export of buffered telemetry may take (`FLUSH_TIMEOUT_MS`): the OTLP exporters' timeout. */
  private static readonly FLUSH_TIMEOUT_MS = 10_000;
  /**
   * SIGTERM to SIGKILL: the drain and the flush, each bounded by the service itself, plus room to spare, so the
   * kubelet never kills a pod in the middle of its final flush.
   */
  private static readonly TERMINATION_GRACE_PERIOD_SECONDS = 30;

  /** The frontend, for `kubectl port-forward` and `curl`. */
  public readonly endpoint: Endpoint;
  /** The backend the frontend calls. */
  public readonly backendEndpoint: Endpoint;

  public constructor(scope: Construct, id: string, props: HelloAppProps) {
    super(scope, id, { namespace: props.namespace, disableResourceNameHashes: true });
    this.backendEndpoint = this.role(props, { role: 'backend', serviceName: 'hello-backend' });
    this.endpoint = this.role(props, { role: 'frontend', serviceName: 'hello-app' }, this.backendEndpoint);
    props.grafana?.addDashboard(redDashboard([this.endpoint.serviceName, this.backendEndpoint.serviceName]));
  }

  private role(props: HelloAppProps, role: Role, backend?: Endpoint): Endpoint {
    const identity: ComponentIdentity = { name: role.serviceName, component: 'demo', version: imageVersion(props.image) };
    const deployment = stackDeployment(this, `${role.role}-deployment`, {
      identity,
      name: role.serviceName,
      replicas: props.replicas,
      user: HelloApp.USER,
      persistent: false,
      terminationGracePeriodSeconds: HelloApp.TERMINATION_GRACE_PERIOD_SECONDS,
    });
    const field = (path: kplus.EnvFieldPaths) => kplus.EnvValue.fromFieldRef(path);
    deployment.addContainer({
      name: 'hello-app',
      ...hardenedContainer({ image: props.image, user: HelloApp.USER, resources: props.resources }),
      ports: [{ name: 'http', number: HelloApp.PORT }],
      envVariables: {
        ROLE: kplus.EnvValue.fromValue(role.role),
        PORT: kplus.EnvValue.fromValue(String(HelloApp.PORT)),
        ...(backend ? { BACKEND_URL: kplus.EnvValue.fromValue(backend.url()) } : {}),
        DRAIN_TIMEOUT_MS: kplus.EnvValue.fromValue(String(HelloApp.DRAIN_TIMEOUT_MS)),
        FLUSH_TIMEOUT_MS: kplus.EnvValue.fromValue(String(HelloApp.FLUSH_TIMEOUT_MS)),
        OTEL_SERVICE_NAME: kplus.EnvValue.fromValue(role.serviceName),
        OTEL_EXPORTER_OTLP_ENDPOINT: kplus.EnvValue.fromValue(props.otlpEndpoint.url()),
        OTEL_EXPORTER_OTLP_PROTOCOL: kplus.EnvValue.fromValue('http/protobuf'),
        // The downward API feeds the resource attributes through $(VAR) expansion, which only sees
        // variables defined earlier in the list: the K8S_* names sort before OTEL_RESOURCE_ATTRIBUTES.
        K8S_NAMESPACE_NAME: field(kplus.EnvFieldPaths.POD_NAMESPACE),
        K8S_NODE_NAME: field(kplus.EnvFieldPaths.NODE_NAME),
        K8S_POD_IP: field(kplus.EnvFieldPaths.POD_IP),
        K8S_POD_NAME: field(kplus.EnvFieldPaths.POD_NAME),
        OTEL_RESOURCE_ATTRIBUTES: kplus.EnvValue.fromValue(
          'k8s.namespace.name=$(K8S_NAMESPACE_NAME),k8s.node.name=$(K8S_NODE_NAME),k8s.pod.ip=$(K8S_POD_IP),k8s.pod.name=$(K8S_POD_NAME)',
        ),
      },
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: HelloApp.PORT, periodSeconds: Duration.seconds(10), failureThreshold: 3 }),
      readiness: kplus.Probe.fromHttpGet('/healthz', { port: HelloApp.PORT, periodSeconds: Duration.seconds(5), failureThreshold: 2 }),
    });
    props.otlpEndpoint.allowFrom(deployment);
    backend?.allowFrom(deployment);
    const service = stackService(this, `${role.role}-service`, { name: role.serviceName, identity, ports: [{ name: 'http', port: HelloApp.PORT }] });
    return Endpoint.fromService(service, HelloApp.PORT, { scheme: 'http' });
  }
}

/**
 * Rate, errors and duration of the demo's services, from the span metrics Tempo's metrics-generator writes
 * (`traces_spanmetrics_calls_total`, `traces_spanmetrics_latency_bucket`, labelled `service`, `span_kind` and
 * `status_code`): the server spans, i.e. the requests each service answers.
 */
function redDashboard(services: readonly string[]) {
  const server = `service=~"${services.join('|')}", span_kind="SPAN_KIND_SERVER"`;
  const quantile = (q: number) => ({
    expr: `histogram_quantile(${q}, sum by (le, service) (rate(traces_spanmetrics_latency_bucket{${server}}[5m])))`,
    legend: `{{service}} p${q * 100}`,
  });
  return componentDashboard({
    uid: 'sightline-demo-red',
    title: 'Demo services (RED)',
    description: 'Requests, errors and duration of hello-app and hello-backend, from their traces.',
    health: [
      {
        title: 'Services seen',
        description: 'Whether each demo service sent server spans in the last 5 minutes.',
        unit: 'short',
        queries: [{ expr: `count by (service) (traces_spanmetrics_calls_total{${server}})`, legend: '{{service}}' }],
      },
    ],
    throughput: [
      {
        title: 'Rate',
        description: 'Requests each service answers per second.',
        unit: 'reqps',
        queries: [{ expr: `sum by (service) (rate(traces_spanmetrics_calls_total{${server}}[5m]))`, legend: '{{service}}' }],
      },
    ],
    errors: [
      {
        title: 'Errors',
        description: 'Share of requests whose server span ended in error.',
        unit: 'percentunit',
        queries: [
          {
            expr: `sum by (service) (rate(traces_spanmetrics_calls_total{${server}, status_code="STATUS_CODE_ERROR"}[5m])) / sum by (service) (rate(traces_spanmetrics_calls_total{${server}}[5m]))`,
            legend: '{{service}}',
          },
        ],
      },
    ],
    saturation: [
      {
        title: 'Duration',
        description: 'Request duration quantiles of each service: latency grows as it saturates.',
        unit: 's',
        queries: [quantile(0.5), quantile(0.95), quantile(0.99)],
      },
    ],
  });
}

/** The `helloApp` section of the values. */
export const helloAppValues = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Whether the demo service (hello-app calling hello-backend) is rendered.'),
    image: z
      .strictObject({
        repository: z
          .string()
          .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/, {
            error: 'is not an image repository like registry.example.com/team/hello-app',
          })
          .default(DEMO_IMAGE.repository)
          .describe('Where you pushed or loaded the image built from services/hello-app.'),
        tag: z
          .string()
          .regex(/^\w[\w.-]{0,127}$/, { error: 'is not an image tag', abort: true })
          .refine((t) => t !== 'latest', { error: 'is not a pinned tag: "latest" moves under a running Deployment' })
          .default(DEMO_IMAGE.tag),
      })
      .prefault({}),
    replicas: z
      .int({ error: 'is not a replica count (a whole number)' })
      .min(0, { error: 'is not a replica count: use 0 or more' })
      .default(1)
      .describe('Pods per role (hello-app and hello-backend).'),
    resources: resources({ requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } }),
  })
  .prefault({});
