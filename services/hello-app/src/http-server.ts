import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, trace, type Span } from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { Logger } from './log.ts';
import { HEALTH_PATH } from './telemetry.ts';

/** What a route handler answers; the body is sent as JSON. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** Handles `GET` on one route. Runs inside the request's SERVER span, so spans it starts are its children. */
export type Handler = (url: URL) => Promise<Reply>;

/** The service's HTTP server and its graceful stop. */
export interface HttpServer {
  readonly server: Server;
  /**
   * Stops accepting connections and lets the requests in flight finish, each answered with `Connection: close`
   * so that no keep-alive connection outlives the stop; idle keep-alive connections are closed at once. Requests
   * still running after `timeoutMs` are answered 503 and their connections closed.
   * @returns how many requests were answered 503 because they outlasted `timeoutMs`
   */
  drain(timeoutMs: number): Promise<number>;
}

/** Upper bound for writing the 503 answers of a timed-out drain before their connections are closed anyway. */
const CUT_WRITE_TIMEOUT_MS = 1_000;

/**
 * Creates the HTTP server. `@opentelemetry/instrumentation-http` (registered by src/register.ts) makes each
 * request except the probe a SERVER span that continues the caller's W3C `traceparent`, and records
 * `http.server.request.duration`; this server tells it the matched route (`http.route`, and the span name
 * `GET /`) and writes one log line per request, correlated with that span.
 *
 * @param routes handlers for `GET`, keyed by exact path (the `http.route`)
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-server
 */
export function createHttpServer(routes: ReadonlyMap<string, Handler>, logger: Logger): HttpServer {
  const inFlight = new Set<ServerResponse>();
  let draining = false;

  const server = createServer((req, res) => {
    // Only the path and query are used; the base is a placeholder because req.url is origin-relative.
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (draining) {
      res.setHeader('connection', 'close');
    }
    if (url.pathname === HEALTH_PATH) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }

    const handler = routes.get(url.pathname);
    // The instrumentation runs this listener in the context of its SERVER span and reads the route back from
    // the context's RPC metadata when the response ends.
    const rpc = getRPCMetadata(context.active());
    if (handler !== undefined && rpc?.type === RPCType.HTTP) {
      rpc.route = url.pathname;
    }
    const span = trace.getActiveSpan();
    const started = performance.now();
    inFlight.add(res);

    res.once('close', () => {
      inFlight.delete(res);
      const completed = res.writableFinished;
      const log = !completed || res.statusCode >= 500 ? logger.error : logger.info;
      log(
        'request',
        {
          http_method: req.method,
          url_path: url.pathname,
          http_route: handler === undefined ? undefined : url.pathname,
          status: res.statusCode,
          duration_ms: Math.round(performance.now() - started),
          error_type: completed ? undefined : 'connection closed before the response was sent',
        },
        span?.spanContext(),
      );
    });

    void respond(req, res, url, handler, span);
  });

  const drain = async (timeoutMs: number): Promise<number> => {
    draining = true;
    for (const res of inFlight) {
      if (!res.headersSent) {
        res.setHeader('connection', 'close');
      }
    }
    // close() stops listening and closes the connections that are idle now; each in-flight request's connection
    // closes after its answer. The callback runs once the last connection is gone.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const timedOut = sleep(timeoutMs, 'timed out' as const, { ref: false });
    if ((await Promise.race([closed, timedOut])) === undefined) {
      return 0;
    }
    const cut = [...inFlight].filter((res) => !res.headersSent);
    for (const res of cut) {
      reply(res, { status: 503, body: { error: `the service is shutting down; the request ran longer than ${timeoutMs} ms` } });
    }
    await Promise.race([Promise.all(cut.map((res) => once(res, 'close'))), sleep(CUT_WRITE_TIMEOUT_MS)]);
    // Whatever is left (a request still being received, a client not reading its answer) must not hold the exit.
    server.closeAllConnections();
    await closed;
    return cut.length;
  };

  return { server, drain };
}

async function respond(req: IncomingMessage, res: ServerResponse, url: URL, handler: Handler | undefined, span: Span | undefined): Promise<void> {
  let answer: Reply;
  if (handler === undefined) {
    answer = { status: 404, body: { error: `no route for ${url.pathname}` } };
  } else if (req.method !== 'GET') {
    answer = { status: 405, body: { error: `${req.method} is not allowed on ${url.pathname}; use GET` } };
  } else {
    try {
      answer = await handler(url);
    } catch (error) {
      span?.recordException(error as Error);
      answer = { status: 500, body: { error: 'internal error' } };
    }
  }
  // A drain that timed out may have answered already.
  if (!res.headersSent) {
    reply(res, answer);
  }
}

function reply(res: ServerResponse, { status, body }: Reply): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
