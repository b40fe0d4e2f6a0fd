import { Chart } from 'cdk8s';
import type * as kplus from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { allowIngress, servicePodsOf, type NetworkTarget, type PodGroup, type PodPort, type SourceWorkload, type TrafficSource } from './network.ts';

/** The cluster DNS domain every Service name resolves under. */
const CLUSTER_DOMAIN = 'cluster.local';

/**
 * How a client talks to an endpoint. `grpc` and `tcp` (a protocol of the component's own, such as
 * Alertmanager's gossip) endpoints are addressed as `host:port`, without a URL.
 */
export type EndpointScheme = 'http' | 'https' | 'grpc' | 'tcp';

/**
 * A network endpoint a component publishes from its own Service, for other components to consume as a prop.
 *
 * It is the one place that knows how a Service name becomes an address: consumers never spell another
 * component's host name or port, so renaming a Service or moving a port cannot leave a stale URL behind.
 * It also knows the pods behind the Service and the port they listen on, so a consumer allows itself in
 * with {@link allowFrom} and the provider's network policy is derived from the wiring.
 */
export class Endpoint implements NetworkTarget {
  /**
   * The endpoint of `port` on `service`.
   *
   * @throws if the Service does not expose `port`: an endpoint to a port nobody serves is a wiring bug.
   */
  public static fromService(service: kplus.Service, port: number, options: { readonly scheme: EndpointScheme; readonly path?: string }): Endpoint {
    const servicePort = service.ports.find((p) => p.port === port);
    if (servicePort === undefined) {
      throw new Error(`Service ${service.name} exposes no port ${port} (it exposes ${service.ports.map((p) => p.port).join(', ')})`);
    }
    const namespace = service.metadata.namespace ?? Chart.of(service).namespace;
    if (!namespace) {
      throw new Error(`Service ${service.name} has no namespace, so it has no stable DNS name`);
    }
    const target: Target = {
      owner: service,
      pods: { namespace, labels: servicePodsOf(service) },
      podPort: { port: servicePort.targetPort ?? port, protocol: servicePort.protocol === 'UDP' ? 'UDP' : 'TCP' },
    };
    return new Endpoint(service.name, namespace, port, options.scheme, options.path ?? '', target, undefined);
  }

  /** Name of the Service behind the endpoint. */
  public readonly serviceName: string;
  /** Namespace of that Service. */
  public readonly namespace: string;
  /** Service port. */
  public readonly port: number;
  /** Protocol spoken on the port. */
  public readonly scheme: EndpointScheme;
  /** Path prefix of the API on that port (`''` for the root). */
  public readonly path: string;

  private readonly target: Target;
  /** The one pod addressed, by its name under a headless Service. @default - the Service */
  private readonly podName?: string;

  private constructor(
    serviceName: string,
    namespace: string,
    port: number,
    scheme: EndpointScheme,
    path: string,
    target: Target,
    podName: string | undefined,
  ) {
    this.serviceName = serviceName;
    this.namespace = namespace;
    this.port = port;
    this.scheme = scheme;
    this.path = path;
    this.target = target;
    this.podName = podName;
  }

  /** The pods behind the Service. */
  public get pods(): PodGroup {
    return this.target.pods;
  }

  /** The port those pods listen on (the Service's target port), which is what a network policy opens. */
  public get podPort(): PodPort {
    return this.target.podPort;
  }

  /**
   * Allows `source` (a consumer's workload, or namespaces for an endpoint meant for applications) to reach
   * the endpoint: the provider's network policy gets the rule. A port carries every path below it, so this
   * opens the whole port (see `network.ts`).
   */
  public allowFrom(source: SourceWorkload | TrafficSource): void {
    allowIngress(this.target.owner, this.target.pods, this.target.podPort, source);
  }

  /** Fully qualified DNS name of the Service, or of the one pod this endpoint addresses. */
  public get host(): string {
    const service = `${this.serviceName}.${this.namespace}.svc.${CLUSTER_DOMAIN}`;
    return this.podName === undefined ? service : `${this.podName}.${service}`;
  }

  /** `host:port`, the form gRPC clients and Prometheus static targets take. */
  public get hostPort(): string {
    return `${this.host}:${this.port}`;
  }

  /**
   * `host:port` of one pod behind a headless Service (`<pod>.<service>.<namespace>.svc...`): the stable name
   * each StatefulSet pod gets, for peers that must address every pod rather than any of them.
   */
  public podHostPort(podName: string): string {
    return this.forPod(podName).hostPort;
  }

  /**
   * The same port of one pod behind a headless Service (a StatefulSet's governing one), by the stable name the
   * pod gets there: for clients that must reach that pod and no other (each of a pair of independent copies).
   * The network policy still admits the client to every pod behind the Service: a pod's name is no label of
   * its template.
   */
  public forPod(podName: string): Endpoint {
    if (this.podName !== undefined) throw new Error(`${this.hostPort} already addresses one pod`);
    return new Endpoint(this.serviceName, this.namespace, this.port, this.scheme, this.path, this.target, podName);
  }

  /** The URL of `subPath` below the endpoint's path, e.g. `url('/api/v1/push')`. */
  public url(subPath = ''): string {
    if (this.scheme === 'grpc' || this.scheme === 'tcp') {
      throw new Error(`${this.hostPort} is a ${this.scheme === 'grpc' ? 'gRPC' : 'TCP'} endpoint: use hostPort, it has no URL`);
    }
    return `${this.scheme}://${this.hostPort}${this.path}${subPath}`;
  }

  /** The same Service port with a longer path, for an API that lives below this one. */
  public withPath(subPath: string): Endpoint {
    return new Endpoint(this.serviceName, this.namespace, this.port, this.scheme, this.path + subPath, this.target, this.podName);
  }
}

/** What is behind an endpoint, for its allow rules. */
interface Target {
  /** A construct of the provider's chart, where the rule is recorded. */
  readonly owner: Construct;
  readonly pods: PodGroup;
  readonly podPort: PodPort;
}
