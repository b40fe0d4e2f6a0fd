/**
 * Where a client sends one signal: an endpoint of a store the stack runs, or a backend it does not run
 * (`loki.external`, `tempo.external`). Consumers (Promtail, Alloy, the syslog receiver, the collector) take a
 * target and never ask which it is: they write its address, tenant and credential files into their config,
 * and call {@link SignalTarget.connect} once their workload exists.
 */
import type * as kplus from 'cdk8s-plus-28';
import {
  BACKEND_CREDENTIALS_DIR,
  backendCredentialFiles,
  mountBackendCredentials,
  type BackendCredentialFiles,
  type ExternalBackend,
} from './backend.ts';
import type { Endpoint } from './endpoint.ts';

/** Where a client sends one signal: a stack endpoint, or an external backend with its tenant and credentials. */
export class SignalTarget {
  /** An endpoint of a store the stack runs: no tenant, no credentials, reached through its network policy. */
  public static embedded(endpoint: Endpoint): SignalTarget {
    return new SignalTarget(endpoint.scheme === 'grpc' ? endpoint.hostPort : endpoint.url(), endpoint.scheme === 'grpc', { endpoint });
  }

  /**
   * An external backend, written to at `url` (its `writeUrl`, or an API next to it, such as Loki's `/otlp`).
   * Always HTTP(S): the backend's URLs are validated as such.
   */
  public static external(backend: ExternalBackend, url: string = backend.writeUrl): SignalTarget {
    return new SignalTarget(url, false, { backend });
  }

  /** An http(s) URL, or `host:port` for a gRPC target. */
  public readonly address: string;
  /** Whether the target speaks gRPC (addressed as `host:port`) rather than HTTP. */
  public readonly grpc: boolean;
  /** The external backend, whose tenant and auth each client spells in its own config. @default - a stack endpoint */
  public readonly backend?: ExternalBackend;
  private readonly endpoint?: Endpoint;

  private constructor(address: string, grpc: boolean, to: { readonly endpoint?: Endpoint; readonly backend?: ExternalBackend }) {
    this.address = address;
    this.grpc = grpc;
    this.endpoint = to.endpoint;
    this.backend = to.backend;
  }

  /** The credential files a client's config names, where {@link connect} mounts them. */
  public get credentialFiles(): BackendCredentialFiles {
    return this.backend ? backendCredentialFiles(this.backend, BACKEND_CREDENTIALS_DIR) : {};
  }

  /**
   * Lets `workload` reach the target: a rule in the store's network policy for a stack endpoint; for an
   * external backend, egress to its port and its credential Secret mounted into `container`.
   */
  public connect(workload: kplus.Deployment | kplus.DaemonSet | kplus.StatefulSet, container: kplus.Container): void {
    if (this.endpoint) this.endpoint.allowFrom(workload);
    if (this.backend) mountBackendCredentials(workload, container, this.backend, BACKEND_CREDENTIALS_DIR);
  }
}
