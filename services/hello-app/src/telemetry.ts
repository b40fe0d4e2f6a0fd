import { metrics, type Attributes, type Histogram } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  defaultResource,
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
  serviceNameEnvDetector,
} from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/** Instrumentation scope of the service's own spans and metrics (it is its own instrumentation library). */
export const INSTRUMENTATION_SCOPE = 'hello-app';

/**
 * Creates `http.server.request.duration` or `http.client.request.duration`: seconds, with the buckets the
 * semantic conventions advise. Call it after {@link startTelemetry}: the metrics API has no proxy, so an
 * instrument created earlier stays a no-op.
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-metrics/#metric-httpserverrequestduration
 */
export function createHttpDurationHistogram(name: string, description: string): Histogram {
  return metrics.getMeter(INSTRUMENTATION_SCOPE).createHistogram(name, {
    description,
    unit: 's',
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] },
  });
}

/**
 * Drops attributes whose value is undefined: spans ignore them, but a metric data point would carry an empty
 * attribute and split its series.
 */
export function definedAttributes(attributes: Attributes): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined));
}

/** The running OpenTelemetry SDK, as the rest of the service needs it. */
export interface Telemetry {
  /** The `service.name` every signal carries, after `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES`. */
  readonly serviceName: string;
  /** Exports what is still buffered (spans, the last metric collection) and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK for traces and metrics, configured by the standard `OTEL_*` variables
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_TRACES_EXPORTER`, `OTEL_BSP_*`,
 * `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_PROPAGATORS`, `OTEL_TRACES_SAMPLER`, `OTEL_SDK_DISABLED`, ...).
 *
 * No instrumentation library is registered: the HTTP server and client are traced by hand (see http-server.ts
 * and backend-client.ts), so nothing depends on module patching or an ESM loader hook.
 *
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 */
export function startTelemetry(defaultServiceName: string, serviceVersion: string): Telemetry {
  const sdk = new NodeSDK({
    // The lowest-priority attributes: the SDK's detectors, OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME override them.
    resource: defaultResource().merge(
      resourceFromAttributes({ [ATTR_SERVICE_NAME]: defaultServiceName, [ATTR_SERVICE_VERSION]: serviceVersion }),
    ),
    // Logs reach Loki as JSON lines on stdout via Promtail; exporting them over OTLP too would store them twice.
    logRecordProcessors: [],
  });
  sdk.start();
  return { serviceName: resolveServiceName(defaultServiceName), shutdown: () => sdk.shutdown() };
}

/** Applies the SDK's own precedence (OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES) so logs name the same service as traces. */
function resolveServiceName(defaultServiceName: string): string {
  const fromEnv = detectResources({ detectors: [resourceAttributesEnvDetector, serviceNameEnvDetector] });
  const name = fromEnv.attributes[ATTR_SERVICE_NAME];
  return typeof name === 'string' ? name : defaultServiceName;
}
