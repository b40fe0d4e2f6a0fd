import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { only, otelEnv, SPAN_KIND, STATUS_CODE, startOtlpReceiver, traceOf, type OtlpReceiver } from './support/otlp-receiver.ts';
import { closedPort, get, killAllServices, runServiceToExit, startService, waitFor, type ServiceProcess } from './support/service.ts';

// Both roles run as real processes with the real OTel SDK, exporting OTLP/HTTP JSON to a receiver in this test.

describe('hello-app frontend calling hello-backend', () => {
  let receiver: OtlpReceiver;
  let backend: ServiceProcess;
  let frontend: ServiceProcess;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    backend = await startService({ ...otelEnv(receiver), ROLE: 'backend', PORT: '0' });
    frontend = await startService({ ...otelEnv(receiver), PORT: '0', BACKEND_URL: `http://127.0.0.1:${backend.port}` });
  });

  afterAll(async () => {
    killAllServices();
    await receiver?.close();
  });

  it('traces GET / as index-request on hello-app, with the backend call as a client/server pair in the same trace', async () => {
    const { status, body } = await get(frontend.port, '/');
    expect(status).toBe(200);
    const traceId = body['trace_id'] as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    const spans = await traceOf(receiver, traceId, 4);
    const server = only(spans, 'hello-app', SPAN_KIND.SERVER);
    const index = spans.find((span) => span.name === 'index-request');
    const client = only(spans, 'hello-app', SPAN_KIND.CLIENT);
    const backendServer = only(spans, 'hello-backend', SPAN_KIND.SERVER);

    expect(server).toMatchObject({ name: 'GET /', parentSpanId: '', attributes: { 'http.route': '/', 'http.response.status_code': 200 } });
    expect(index).toMatchObject({
      kind: SPAN_KIND.INTERNAL,
      parentSpanId: server.spanId,
      resource: { 'service.name': 'hello-app', 'deployment.environment.name': 'e2e' },
    });
    // What Tempo's service graph pairs: a CLIENT span and the SERVER span whose parent it is, on two services.
    expect(client).toMatchObject({
      parentSpanId: index!.spanId,
      attributes: { 'server.address': '127.0.0.1', 'server.port': backend.port, 'http.response.status_code': 200 },
    });
    expect(backendServer).toMatchObject({ name: 'GET /work', parentSpanId: client.spanId, statusCode: STATUS_CODE.UNSET });
  });

  it('writes one JSON log line per request on each side, carrying the trace_id and span_id of its server span', async () => {
    const { body } = await get(frontend.port, '/');
    const traceId = body['trace_id'] as string;
    const spans = await traceOf(receiver, traceId, 4);

    const frontendLine = await waitFor('the frontend request log line', () => frontend.logs.find((line) => line['trace_id'] === traceId));
    const backendLine = await waitFor('the backend request log line', () => backend.logs.find((line) => line['trace_id'] === traceId));
    expect(frontendLine).toMatchObject({
      level: 'info',
      msg: 'request',
      service_name: 'hello-app',
      url_path: '/',
      status: 200,
      span_id: only(spans, 'hello-app', SPAN_KIND.SERVER).spanId,
    });
    expect(backendLine).toMatchObject({
      msg: 'request',
      service_name: 'hello-backend',
      url_path: '/work',
      span_id: only(spans, 'hello-backend', SPAN_KIND.SERVER).spanId,
    });
    expect(frontend.nonJsonLines).toEqual([]);
    expect(backend.nonJsonLines).toEqual([]);
  });

  it("exports each request's log record over OTLP with the trace_id and span_id of its server span", async () => {
    const { body } = await get(frontend.port, '/?fail=true');
    const traceId = body['trace_id'] as string;
    const spans = await traceOf(receiver, traceId, 4);

    const records = await waitFor('both request log records', () => {
      const found = receiver.logRecords.filter((record) => record.traceId === traceId);
      return found.length >= 2 ? found : undefined;
    });
    const frontendRecord = records.find((record) => record.resource['service.name'] === 'hello-app');
    const backendRecord = records.find((record) => record.resource['service.name'] === 'hello-backend');
    expect(frontendRecord).toMatchObject({
      body: 'request',
      severityText: 'ERROR',
      spanId: only(spans, 'hello-app', SPAN_KIND.SERVER).spanId,
      resource: { 'deployment.environment.name': 'e2e' },
      attributes: { url_path: '/', http_route: '/', status: 502 },
    });
    expect(backendRecord).toMatchObject({
      body: 'request',
      spanId: only(spans, 'hello-backend', SPAN_KIND.SERVER).spanId,
      attributes: { url_path: '/work', status: 500 },
    });
  });

  it('marks the spans of both services as errors when the backend is asked to fail', async () => {
    const { status, body } = await get(frontend.port, '/?fail=true');
    expect(status).toBe(502);
    const traceId = body['trace_id'] as string;

    const spans = await traceOf(receiver, traceId, 4);
    expect(only(spans, 'hello-backend', SPAN_KIND.SERVER)).toMatchObject({
      statusCode: STATUS_CODE.ERROR,
      attributes: { 'http.response.status_code': 500, 'error.type': '500', 'hello.fail': true },
    });
    expect(only(spans, 'hello-app', SPAN_KIND.CLIENT)).toMatchObject({
      statusCode: STATUS_CODE.ERROR,
      attributes: { 'http.response.status_code': 500 },
    });
    expect(spans.find((span) => span.name === 'index-request')).toMatchObject({
      statusCode: STATUS_CODE.ERROR,
      statusMessage: 'the backend answered 500',
    });
    expect(only(spans, 'hello-app', SPAN_KIND.SERVER)).toMatchObject({
      statusCode: STATUS_CODE.ERROR,
      attributes: { 'http.response.status_code': 502 },
    });
    const line = await waitFor('the frontend error log line', () => frontend.logs.find((l) => l['trace_id'] === traceId));
    expect(line).toMatchObject({ level: 'error', status: 502 });
  });

  it('makes the backend span last at least the delay the caller asked for', async () => {
    const { status, body } = await get(frontend.port, '/?delay_ms=300');
    expect(status).toBe(200);

    const spans = await traceOf(receiver, body['trace_id'] as string, 4);
    const backendServer = only(spans, 'hello-backend', SPAN_KIND.SERVER);
    expect(backendServer.attributes['hello.delay_ms']).toBe(300);
    // Timers may fire up to a millisecond early against the span clock; the bound only proves the wait happened.
    expect(backendServer.durationMs).toBeGreaterThanOrEqual(295);
  });

  it('answers 400 without calling the backend when delay_ms is out of range', async () => {
    const { status, body } = await get(frontend.port, '/?delay_ms=999999');
    expect(status).toBe(400);
    expect(body['error']).toBe('delay_ms: "999999" is not allowed; expected an integer from 0 to 10000');

    const line = await waitFor('the frontend request log line', () => frontend.logs.find((l) => l['status'] === 400));
    const traceId = line['trace_id'] as string;
    // A backend call would have ended (and been queued for export) before the server span it runs in.
    await traceOf(receiver, traceId, 1);
    expect(receiver.spans.filter((span) => span.traceId === traceId).map((span) => span.name)).toEqual(['GET /']);
  });

  it("continues the caller's trace when the request carries a traceparent header", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    const response = await fetch(`http://127.0.0.1:${frontend.port}/`, {
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    expect(response.status).toBe(200);

    const spans = await traceOf(receiver, traceId, 4);
    expect(only(spans, 'hello-app', SPAN_KIND.SERVER).parentSpanId).toBe(callerSpanId);
  });
  it('answers the probe path without a span or a log line, so probes do not flood Tempo and Loki', async () => {
    const probeTrace = '11111111111111111111111111111111';
    const laterTrace = '22222222222222222222222222222222';
    const probe = await fetch(`http://127.0.0.1:${frontend.port}/healthz?from=kubelet`, {
      headers: { traceparent: `00-${probeTrace}-00f067aa0ba902b7-01` },
    });
    expect(probe.status).toBe(200);
    // A request after the probe: its span and its line are exported and written after anything the probe made.
    await fetch(`http://127.0.0.1:${frontend.port}/`, { headers: { traceparent: `00-${laterTrace}-00f067aa0ba902b7-01` } });
    await traceOf(receiver, laterTrace, 4);
    await waitFor("the later request's log line", () => frontend.logs.find((line) => line['trace_id'] === laterTrace));

    expect(receiver.spans.filter((span) => span.traceId === probeTrace)).toEqual([]);
    expect(frontend.logs.filter((line) => line['url_path'] === '/healthz')).toEqual([]);
  });
});

describe('hello-app with an unreachable backend', () => {
  it('answers 502 and records the connection failure on the client span', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const frontend = await startService({ ...otelEnv(receiver), PORT: '0', BACKEND_URL: `http://127.0.0.1:${await closedPort()}` });
      const { status, body } = await get(frontend.port, '/');
      expect(status).toBe(502);
      expect(body['error']).toMatch(/^the backend could not be reached: /);

      const spans = await traceOf(receiver, body['trace_id'] as string, 3);
      const client = only(spans, 'hello-app', SPAN_KIND.CLIENT);
      expect(client.statusCode).toBe(STATUS_CODE.ERROR);
      expect(client.attributes['error.type']).toBe('ECONNREFUSED');
      expect(client.attributes['http.response.status_code']).toBeUndefined();
    } finally {
      killAllServices();
      await receiver.close();
    }
  });
});

describe('hello-app startup', () => {
  it('fails when ROLE is not a role, naming the variable, the value and what is allowed', async () => {
    const { code, logs } = await runServiceToExit({ ROLE: 'fronted' });
    expect(code).toBe(1);
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'invalid configuration',
        problems: ['ROLE: "fronted" is not a role; expected one of "frontend", "backend"'],
      }),
    ]);
  });

  it('fails when started without the OpenTelemetry preload, which would leave HTTP untraced', async () => {
    const { code, logs } = await runServiceToExit({}, { preload: false });
    expect(code).toBe(1);
    expect(logs).toEqual([
      expect.objectContaining({
        level: 'error',
        msg: 'cannot start',
        error: 'OpenTelemetry is not started: run the service as node --import ./src/register.ts src/main.ts',
      }),
    ]);
  });
});
