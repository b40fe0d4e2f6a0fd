import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { BackendClient } from './backend-client.ts';
import type { Handler } from './http-server.ts';
import { INSTRUMENTATION_SCOPE } from './telemetry.ts';
import { parseWorkRequest } from './work.ts';

/**
 * The frontend's routes: `GET /` does its work in an `index-request` span (the span name of the seed
 * prototype, which dashboards and span metrics refer to) and calls the backend from inside it.
 * A failing or unreachable backend makes the answer 502 and puts every span up the chain in error.
 */
export function frontendRoutes(serviceName: string, callBackend: BackendClient): ReadonlyMap<string, Handler> {
  const tracer = trace.getTracer(INSTRUMENTATION_SCOPE);
  const index: Handler = async (url) => {
    const work = parseWorkRequest(url.searchParams);
    if (typeof work === 'string') {
      return { status: 400, body: { error: work } };
    }
    return tracer.startActiveSpan('index-request', async (span) => {
      // Returned to the caller so a person can paste it into Grafana's trace search.
      const traceId = span.spanContext().traceId;
      try {
        const backend = await callBackend(work);
        if (backend.status >= 400) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: `the backend answered ${backend.status}` });
          return { status: 502, body: { error: `the backend answered ${backend.status}`, trace_id: traceId, backend: backend.body } };
        }
        return { status: 200, body: { message: `Hello from ${serviceName}`, trace_id: traceId, backend: backend.body } };
      } catch (error) {
        const message = `the backend could not be reached: ${describe(error)}`;
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message });
        return { status: 502, body: { error: message, trace_id: traceId } };
      } finally {
        span.end();
      }
    });
  };
  return new Map([['/', index]]);
}

/**
 * The backend's routes: `GET /work` waits `delay_ms` and answers 500 when `fail=true`, so latency and errors
 * originate in a second service and show on the service graph's edge.
 */
export function backendRoutes(serviceName: string): ReadonlyMap<string, Handler> {
  const work: Handler = async (url) => {
    const request = parseWorkRequest(url.searchParams);
    if (typeof request === 'string') {
      return { status: 400, body: { error: request } };
    }
    trace.getActiveSpan()?.setAttributes({ 'hello.delay_ms': request.delayMs, 'hello.fail': request.fail });
    if (request.delayMs > 0) {
      await sleep(request.delayMs);
    }
    if (request.fail) {
      return { status: 500, body: { error: 'failure requested by the caller (fail=true)' } };
    }
    return { status: 200, body: { message: `Hello from ${serviceName}`, delay_ms: request.delayMs } };
  };
  return new Map([['/work', work]]);
}

/** fetch() reports a refused connection as "fetch failed"; the reason is in its cause. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) {
    return String(error);
  }
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
