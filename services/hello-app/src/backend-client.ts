import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  METRIC_HTTP_CLIENT_REQUEST_DURATION,
} from '@opentelemetry/semantic-conventions';
import { createHttpDurationHistogram, definedAttributes, INSTRUMENTATION_SCOPE } from './telemetry.ts';
import { MAX_DELAY_MS, workQuery, type WorkRequest } from './work.ts';

/** The backend's answer: its status code and its JSON body (null when the body is not JSON). */
export interface BackendReply {
  readonly status: number;
  readonly body: unknown;
}

/** Asks the backend role for work; rejects when the backend cannot be reached or does not answer in time. */
export type BackendClient = (work: WorkRequest) => Promise<BackendReply>;

/** Generous above the longest delay a caller may request, so only a stuck backend times out. */
const TIMEOUT_MS = MAX_DELAY_MS + 5_000;

/**
 * Creates the frontend's client for the backend role. Each call is a CLIENT span, child of the active span,
 * whose context travels in the `traceparent` header: the backend's SERVER span becomes its child, which is the
 * client/server pair Tempo's service graph turns into an edge between the two services.
 *
 * @param backendUrl base URL of the backend (ends in `/`)
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-client
 */
export function createBackendClient(backendUrl: URL): BackendClient {
  const tracer = trace.getTracer(INSTRUMENTATION_SCOPE);
  const duration = createHttpDurationHistogram(METRIC_HTTP_CLIENT_REQUEST_DURATION, 'Duration of HTTP client requests.');

  return async (work) => {
    const url = new URL(`work?${workQuery(work)}`, backendUrl);
    const attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: 'GET',
      // URL.hostname keeps the brackets of an IPv6 literal; the attribute is the bare address.
      [ATTR_SERVER_ADDRESS]: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      [ATTR_SERVER_PORT]: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    };
    const span = tracer.startSpan('GET', { kind: SpanKind.CLIENT, attributes: { ...attributes, [ATTR_URL_FULL]: url.href } });
    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), span), headers);
    const started = performance.now();
    let status: number | undefined;
    let errorType: string | undefined;
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
      status = response.status;
      const body: unknown = await response.json().catch(() => null);
      // A client span is in error for 4xx as well: the request did not get what it asked for.
      if (status >= 400) {
        errorType = String(status);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      return { status, body };
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      errorType = failure.name;
      span.recordException(failure);
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
      throw failure;
    } finally {
      const outcome = definedAttributes({ [ATTR_HTTP_RESPONSE_STATUS_CODE]: status, [ATTR_ERROR_TYPE]: errorType });
      span.setAttributes(outcome);
      span.end();
      duration.record((performance.now() - started) / 1000, { ...attributes, ...outcome });
    }
  };
}
