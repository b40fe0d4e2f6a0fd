/** What one process of the image does: serve `GET /` and call the backend, or serve `GET /work`. */
export type Role = 'frontend' | 'backend';

const ROLES: readonly Role[] = ['frontend', 'backend'];

/** The service's configuration, read once from the environment at startup. */
export interface Config {
  /**
   * Which half of the demo this process plays.
   * @default 'frontend'
   */
  readonly role: Role;
  /**
   * TCP port of the HTTP server; 0 lets the kernel pick one (the tests use that and read it from the log).
   * @default 5001 (the port of the seed prototype)
   */
  readonly port: number;
  /**
   * Base URL of the backend role, used by the frontend only. Always ends in `/` so that relative paths keep any
   * path prefix it carries.
   * @default 'http://localhost:5002/'
   */
  readonly backendUrl: URL;
  /**
   * `service.name` used when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one.
   * @default 'hello-app' for the frontend, 'hello-backend' for the backend
   */
  readonly defaultServiceName: string;
  /**
   * How long requests in flight may still run after SIGTERM; the ones still running then are answered 503.
   * Together with {@link flushTimeoutMs} it must stay below the pod's `terminationGracePeriodSeconds`.
   * @default 12000 (the longest `delay_ms` a caller may ask for, 10 s, and the call around it)
   */
  readonly drainTimeoutMs: number;
  /**
   * How long the final export of buffered telemetry may take after the drain; past it, or when the export
   * fails, the service logs a warning and exits 0 all the same.
   * @default 10000 (the OTLP exporters' default timeout, `OTEL_EXPORTER_OTLP_TIMEOUT`)
   */
  readonly flushTimeoutMs: number;
}

/** Raised when the environment cannot be turned into a {@link Config}; lists every problem, not just the first. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Above any grace period a pod would be given (Kubernetes' default is 30 s). */
const MAX_TIMEOUT_MS = 600_000;

const DEFAULT_SERVICE_NAMES: Readonly<Record<Role, string>> = { frontend: 'hello-app', backend: 'hello-backend' };

/**
 * Reads the service's configuration from environment variables (empty counts as unset, as in the OTel SDK).
 * @throws ConfigError naming each variable, the value received and what is allowed
 */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };

  const rawRole = read('ROLE') ?? 'frontend';
  const role = ROLES.find((r) => r === rawRole);
  if (role === undefined) {
    problems.push(`ROLE: "${rawRole}" is not a role; expected one of ${ROLES.map((r) => `"${r}"`).join(', ')}`);
  }

  const rawPort = read('PORT') ?? '5001';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) {
    problems.push(`PORT: "${rawPort}" is not a port; expected an integer from 0 to 65535`);
  }

  const rawBackendUrl = read('BACKEND_URL') ?? 'http://localhost:5002';
  const backendUrl = URL.parse(rawBackendUrl.endsWith('/') ? rawBackendUrl : `${rawBackendUrl}/`);
  if (backendUrl === null || (backendUrl.protocol !== 'http:' && backendUrl.protocol !== 'https:')) {
    problems.push(`BACKEND_URL: "${rawBackendUrl}" is not an absolute http:// or https:// URL`);
  }

  const milliseconds = (name: string, fallback: number): number => {
    const raw = read(name) ?? String(fallback);
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value > MAX_TIMEOUT_MS) {
      problems.push(`${name}: "${raw}" is not a timeout; expected an integer number of milliseconds from 0 to ${MAX_TIMEOUT_MS}`);
    }
    return value;
  };
  const drainTimeoutMs = milliseconds('DRAIN_TIMEOUT_MS', 12_000);
  const flushTimeoutMs = milliseconds('FLUSH_TIMEOUT_MS', 10_000);

  if (role === undefined || backendUrl === null || problems.length > 0) {
    throw new ConfigError(problems);
  }
  return { role, port, backendUrl, defaultServiceName: DEFAULT_SERVICE_NAMES[role], drainTimeoutMs, flushTimeoutMs };
}
