import type { IncomingMessage } from 'node:http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  defaultResource,
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
  serviceNameEnvDetector,
} from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/** Instrumentation scope of the service's own spans and log records (it is its own instrumentation library). */
export const INSTRUMENTATION_SCOPE = 'hello-app';

/** Path of the liveness/readiness probe: answered without a span or a log line, so probes do not flood Tempo and Loki. */
export const HEALTH_PATH = '/healthz';

/** The running OpenTelemetry SDK, as the rest of the service needs it. */
export interface Telemetry {
  /** The `service.name` every signal carries, after `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`. */
  readonly serviceName: string;
  /** Exports what is still buffered (spans, log records, the last metric collection) and stops the SDK. */
  shutdown(): Promise<void>;
}

let running: Telemetry | undefined;

/**
 * Starts the OpenTelemetry SDK for traces, metrics and logs, configured by the standard `OTEL_*` variables
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_TRACES_EXPORTER`, `OTEL_LOGS_EXPORTER`,
 * `OTEL_BSP_*`, `OTEL_BLRP_*`, `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_TRACES_SAMPLER`, `OTEL_SDK_DISABLED`, ...).
 *
 * The HTTP server and the `fetch` client are traced by the SDK's instrumentations: `node:http` is patched when it
 * is loaded, so this must run before the service's modules load (src/register.ts, given to `node --import`);
 * undici (Node's `fetch`) reports its requests on diagnostics channels, which need no patching.
 *
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 */
export function startTelemetry(defaultServiceName: string, serviceVersion: string): Telemetry {
  const sdk = new NodeSDK({
    // The lowest-priority attributes: the SDK's detectors, OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME override them.
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: defaultServiceName, [ATTR_SERVICE_VERSION]: serviceVersion })),
    instrumentations: [
      new HttpInstrumentation({
        // The same test as the server's: the path, whatever the query.
        ignoreIncomingRequestHook: (request: IncomingMessage) => new URL(request.url ?? '/', 'http://localhost').pathname === HEALTH_PATH,
        // The service calls out only with fetch (undici, below). The one node:http client is the OTLP exporter,
        // whose spans are suppressed but whose requests would still count in http.client.request.duration.
        disableOutgoingRequestInstrumentation: true,
      }),
      new UndiciInstrumentation(),
    ],
  });
  sdk.start();
  running = { serviceName: resolveServiceName(defaultServiceName), shutdown: () => sdk.shutdown() };
  return running;
}

/**
 * The SDK started by {@link startTelemetry} in this process.
 * @throws Error when it was not started, i.e. the service was not started with `node --import ./src/register.ts`
 */
export function runningTelemetry(): Telemetry {
  if (running === undefined) {
    throw new Error('OpenTelemetry is not started: run the service as node --import ./src/register.ts src/main.ts');
  }
  return running;
}

/** Applies the SDK's own precedence (OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES) so logs name the same service as traces. */
function resolveServiceName(defaultServiceName: string): string {
  const fromEnv = detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] });
  const name = fromEnv.attributes[ATTR_SERVICE_NAME];
  return typeof name === 'string' ? name : defaultServiceName;
}
