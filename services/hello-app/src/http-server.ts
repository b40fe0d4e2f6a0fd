import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
  ERROR_TYPE_VALUE_OTHER,
  HTTP_REQUEST_METHOD_VALUE_OTHER,
  METRIC_HTTP_SERVER_REQUEST_DURATION,
} from '@opentelemetry/semantic-conventions';
import type { Logger } from './log.ts';
import { createHttpDurationHistogram, definedAttributes, INSTRUMENTATION_SCOPE } from './telemetry.ts';

/** What a route handler answers; the body is sent as JSON. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** Handles `GET` on one route. Runs inside the request's SERVER span, so spans it starts are its children. */
export type Handler = (url: URL) => Promise<Reply>;

/** Path of the liveness/readiness probe: answered without a span or a log line, so probes do not flood Tempo and Loki. */
const HEALTH_PATH = '/healthz';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/**
 * Creates the HTTP server: each request except the probe gets a SERVER span that continues the caller's trace
 * (W3C `traceparent`), an `http.server.request.duration` measurement and one JSON log line.
 *
 * Traced by hand with the OTel API rather than `@opentelemetry/instrumentation-http`: that needs an ESM loader
 * hook registered before the app loads, and patches `node:http` in ways named ESM imports do not see. Here the
 * span names, attributes and statuses follow the stable HTTP semantic conventions explicitly.
 *
 * @param routes handlers for `GET`, keyed by exact path (the `http.route`)
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-server
 */
export function createHttpServer(routes: ReadonlyMap<string, Handler>, logger: Logger): Server {
  const tracer = trace.getTracer(INSTRUMENTATION_SCOPE);
  const duration = createHttpDurationHistogram(METRIC_HTTP_SERVER_REQUEST_DURATION, 'Duration of HTTP server requests.');

  return createServer((req, res) => {
    // Only the path and query are used; the base is a placeholder because req.url is origin-relative.
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === HEALTH_PATH) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }

    const method = KNOWN_METHODS.has(req.method ?? '') ? (req.method as string) : HTTP_REQUEST_METHOD_VALUE_OTHER;
    const handler = routes.get(url.pathname);
    const route = handler === undefined ? undefined : url.pathname;
    const attributes: Attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_HTTP_ROUTE]: route,
      [ATTR_URL_SCHEME]: 'http',
    };
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      spanName(method, route),
      {
        kind: SpanKind.SERVER,
        attributes: {
          ...attributes,
          [ATTR_HTTP_REQUEST_METHOD_ORIGINAL]: method === req.method ? undefined : req.method,
          [ATTR_URL_PATH]: url.pathname,
          [ATTR_CLIENT_ADDRESS]: req.socket.remoteAddress,
          [ATTR_USER_AGENT_ORIGINAL]: req.headers['user-agent'],
          [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
        },
      },
      parent,
    );
    const started = performance.now();

    res.once('close', () => {
      const errorType = finishServerSpan(span, res);
      const elapsedMs = performance.now() - started;
      duration.record(elapsedMs / 1000, definedAttributes({
        ...attributes,
        [ATTR_HTTP_RESPONSE_STATUS_CODE]: res.statusCode,
        [ATTR_ERROR_TYPE]: errorType,
      }));
      const log = errorType === undefined ? logger.info : logger.error;
      log('request', {
        http_method: req.method,
        url_path: url.pathname,
        http_route: route,
        status: res.statusCode,
        duration_ms: Math.round(elapsedMs),
        error_type: errorType,
      }, span.spanContext());
    });

    void context.with(trace.setSpan(parent, span), () => respond(req, res, url, handler, span));
  });
}

async function respond(req: IncomingMessage, res: ServerResponse, url: URL, handler: Handler | undefined, span: Span): Promise<void> {
  let reply: Reply;
  if (handler === undefined) {
    reply = { status: 404, body: { error: `no route for ${url.pathname}` } };
  } else if (req.method !== 'GET') {
    reply = { status: 405, body: { error: `${req.method} is not allowed on ${url.pathname}; use GET` } };
  } else {
    try {
      reply = await handler(url);
    } catch (error) {
      span.recordException(error as Error);
      reply = { status: 500, body: { error: 'internal error' } };
    }
  }
  res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
}

/** `{method} {route}` per the semantic conventions; the method alone when no route matched, to bound cardinality. */
function spanName(method: string, route: string | undefined): string {
  const name = method === HTTP_REQUEST_METHOD_VALUE_OTHER ? 'HTTP' : method;
  return route === undefined ? name : `${name} ${route}`;
}

/**
 * Sets the response attributes and status and ends the span.
 * @returns the `error.type` recorded: the status code for 5xx (4xx is the client's error, not the server's),
 *   `_OTHER` when the connection closed before the response was sent
 */
function finishServerSpan(span: Span, res: ServerResponse): string | undefined {
  let errorType: string | undefined;
  if (!res.writableFinished) {
    errorType = ERROR_TYPE_VALUE_OTHER;
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'connection closed before the response was sent' });
  } else if (res.statusCode >= 500) {
    errorType = String(res.statusCode);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.setAttributes({ [ATTR_HTTP_RESPONSE_STATUS_CODE]: res.statusCode, [ATTR_ERROR_TYPE]: errorType });
  span.end();
  return errorType;
}
