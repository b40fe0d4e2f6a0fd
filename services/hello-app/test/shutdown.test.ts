import { once } from 'node:events';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { only, otelEnv, SPAN_KIND, STATUS_CODE, startOtlpReceiver, traceOf, type OtlpReceiver } from './support/otlp-receiver.ts';
import { closedPort, get, killAllServices, startService, waitFor, type ServiceProcess } from './support/service.ts';

// What Kubernetes does to a pod: SIGTERM, then SIGKILL once terminationGracePeriodSeconds have passed. The
// service must finish what it can, flush its telemetry and exit 0 before that, whatever its clients and the
// collector do. Nothing here measures time: each test holds the other side still until the service has reached
// the state under test (its "shutting down" line, a request held at a stand-in backend).

/** A stand-in for the backend that holds every request until the test lets it answer. */
interface HeldBackend {
  readonly url: string;
  /** Resolves once the frontend's call has arrived, i.e. the frontend's request is in flight. */
  readonly arrived: Promise<void>;
  answer(): void;
  close(): Promise<void>;
}

async function startHeldBackend(): Promise<HeldBackend> {
  const held: ServerResponse[] = [];
  let arrive: () => void = () => {};
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const server = createServer((_req, res) => {
    held.push(res);
    arrive();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrived,
    answer: () => {
      for (const res of held.splice(0)) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"message":"held"}');
      }
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** GET on a keep-alive connection of `agent`, as a browser or a proxy would send it. */
async function getKeepAlive(agent: Agent, port: number, path: string): Promise<{ response: IncomingMessage; socket: Socket; body: string }> {
  const req = request({ host: '127.0.0.1', port, path, agent });
  req.end();
  const [response] = (await once(req, 'response')) as [IncomingMessage];
  // Read before the body: once the response is consumed, the agent takes the socket back into its pool.
  const socket = response.socket;
  let body = '';
  for await (const chunk of response) {
    body += String(chunk);
  }
  return { response, socket, body };
}

const shuttingDown = (service: ServiceProcess) =>
  waitFor('the shutting down log line', () => service.logs.find((line) => line['msg'] === 'shutting down'));

describe('hello-app shutdown', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    killAllServices();
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });
  async function receiver(): Promise<OtlpReceiver> {
    const started = await startOtlpReceiver();
    cleanups.push(() => started.close());
    return started;
  }
  async function heldBackend(): Promise<HeldBackend> {
    const started = await startHeldBackend();
    cleanups.push(() => started.close());
    return started;
  }

  it('exports the spans, log records and metrics still buffered when it receives SIGTERM, then exits 0', async () => {
    const otlp = await receiver();
    // Batch delays far beyond the test's length: whatever arrives was flushed by the shutdown.
    const env = otelEnv(otlp, { OTEL_BSP_SCHEDULE_DELAY: '60000', OTEL_BLRP_SCHEDULE_DELAY: '60000' });
    const backend = await startService({ ...env, ROLE: 'backend', PORT: '0' });
    const frontend = await startService({ ...env, PORT: '0', BACKEND_URL: `http://127.0.0.1:${backend.port}` });
    const { status, body } = await get(frontend.port, '/');
    expect(status).toBe(200);
    const traceId = body['trace_id'] as string;
    expect(otlp.spans.filter((span) => span.traceId === traceId)).toEqual([]);
    expect(otlp.logRecords.filter((record) => record.traceId === traceId)).toEqual([]);

    expect(await frontend.stop('SIGTERM')).toBe(0);
    expect(await backend.stop('SIGTERM')).toBe(0);

    expect((await traceOf(otlp, traceId, 4)).map((span) => span.name).sort()).toEqual(['GET', 'GET /', 'GET /work', 'index-request']);
    expect(
      otlp.logRecords
        .filter((record) => record.traceId === traceId)
        .map((record) => record.resource['service.name'])
        .sort(),
    ).toEqual(['hello-app', 'hello-backend']);
    const serverDuration = otlp.histogramPoints.find(
      (point) => point.metric === 'http.server.request.duration' && point.resource['service.name'] === 'hello-app',
    );
    expect(serverDuration).toMatchObject({
      unit: 's',
      count: 1,
      attributes: { 'http.request.method': 'GET', 'http.route': '/', 'http.response.status_code': 200 },
    });
    const clientDuration = otlp.histogramPoints.find(
      (point) => point.metric === 'http.client.request.duration' && point.resource['service.name'] === 'hello-app',
    );
    expect(clientDuration).toMatchObject({ count: 1, attributes: { 'server.port': backend.port, 'http.response.status_code': 200 } });
    expect(frontend.logs.at(-1)).toMatchObject({ msg: 'stopped' });
  });

  it('closes idle keep-alive connections at once and answers the request in flight with Connection: close, then exits 0', async () => {
    const otlp = await receiver();
    const backend = await heldBackend();
    const frontend = await startService({ ...otelEnv(otlp), PORT: '0', BACKEND_URL: backend.url });
    const idleAgent = new Agent({ keepAlive: true });
    const busyAgent = new Agent({ keepAlive: true });
    cleanups.push(async () => {
      idleAgent.destroy();
      busyAgent.destroy();
    });
    // A connection that served one request and now waits, as a proxy's pooled connection does.
    const idle = await getKeepAlive(idleAgent, frontend.port, '/healthz');
    expect(idle.response.headers.connection).toBe('keep-alive');
    const idleClosed = once(idle.socket, 'close');

    const inFlight = getKeepAlive(busyAgent, frontend.port, '/');
    await backend.arrived;
    const exited = frontend.stop('SIGTERM');
    await shuttingDown(frontend);
    await idleClosed;

    backend.answer();
    const { response, body } = await inFlight;
    expect(response.statusCode).toBe(200);
    // Without it the client would keep the connection open, and the service would wait for it to time out.
    expect(response.headers.connection).toBe('close');
    expect(await exited).toBe(0);

    const spans = await traceOf(otlp, (JSON.parse(body) as Record<string, string>)['trace_id']!, 3);
    expect(only(spans, 'hello-app', SPAN_KIND.SERVER)).toMatchObject({
      statusCode: STATUS_CODE.UNSET,
      attributes: { 'http.response.status_code': 200 },
    });
  });

  it('answers 503 to a request that outlasts DRAIN_TIMEOUT_MS, logs it, and exits 0', async () => {
    const otlp = await receiver();
    const backend = await heldBackend();
    const frontend = await startService({ ...otelEnv(otlp), PORT: '0', BACKEND_URL: backend.url, DRAIN_TIMEOUT_MS: '100' });
    const inFlight = get(frontend.port, '/');
    await backend.arrived;

    // The held backend never answers: only the drain timeout can end the request.
    expect(await frontend.stop('SIGTERM')).toBe(0);
    const { status, body } = await inFlight;
    expect(status).toBe(503);
    expect(body['error']).toBe('the service is shutting down; the request ran longer than 100 ms');
    expect(frontend.logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'requests outlasted the drain timeout',
        requests: 1,
        drain_timeout_ms: 100,
      }),
    );
    const server = await waitFor("the cut request's server span", () =>
      otlp.spans.find((span) => span.kind === SPAN_KIND.SERVER && span.name === 'GET /'),
    );
    expect(server).toMatchObject({ statusCode: STATUS_CODE.ERROR, attributes: { 'http.response.status_code': 503 } });
  });

  /** Runs the backend role against `collectorUrl`, serves one request, stops it and returns its exit code and last two lines. */
  async function stopWithCollector(collectorUrl: string, env: Readonly<Record<string, string>>) {
    const backend = await startService({
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Nothing is exported before SIGTERM: the final flush is the first and only export.
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      OTEL_BLRP_SCHEDULE_DELAY: '60000',
      ...env,
      ROLE: 'backend',
      PORT: '0',
    });
    expect((await get(backend.port, '/work')).status).toBe(200);
    const code = await backend.stop('SIGTERM');
    return { code, lastLines: backend.logs.slice(-2) };
  }

  it('exits 0 with a warning when the collector cannot be reached for the final flush', async () => {
    // Connections to the collector are refused; the exporter gives up after OTEL_EXPORTER_OTLP_TIMEOUT.
    const { code, lastLines } = await stopWithCollector(`http://127.0.0.1:${await closedPort()}`, { OTEL_EXPORTER_OTLP_TIMEOUT: '500' });
    expect(code).toBe(0);
    expect(lastLines).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'telemetry flush failed; buffered telemetry is lost', error: expect.any(String) }),
      expect.objectContaining({ level: 'info', msg: 'stopped' }),
    ]);
  });

  it('exits 0 with a warning when the final flush outlasts FLUSH_TIMEOUT_MS', async () => {
    // A collector that accepts connections and never answers.
    const collector = await heldBackend();
    const { code, lastLines } = await stopWithCollector(collector.url, { FLUSH_TIMEOUT_MS: '100' });
    expect(code).toBe(0);
    expect(lastLines).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'telemetry flush timed out; buffered telemetry is lost', flush_timeout_ms: 100 }),
      expect.objectContaining({ level: 'info', msg: 'stopped' }),
    ]);
  });
});
