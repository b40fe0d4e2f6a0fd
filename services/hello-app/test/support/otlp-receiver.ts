import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { waitFor } from './service.ts';

// The parts of OTLP/HTTP JSON the tests read.
// https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding (ids are hex strings, enums are numbers).
interface AnyValue {
  readonly stringValue?: string;
  readonly boolValue?: boolean;
  readonly intValue?: number | string;
  readonly doubleValue?: number;
}
interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}
interface Resource {
  readonly attributes?: readonly KeyValue[];
}
interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: string | number;
  readonly endTimeUnixNano: string | number;
  readonly attributes?: readonly KeyValue[];
  readonly status?: { readonly code?: number; readonly message?: string };
}
interface ExportTraceServiceRequest {
  readonly resourceSpans?: readonly {
    readonly resource?: Resource;
    readonly scopeSpans?: readonly { readonly spans?: readonly OtlpSpan[] }[];
  }[];
}
interface OtlpDataPoint {
  readonly attributes?: readonly KeyValue[];
  readonly count?: number | string;
}
interface OtlpMetric {
  readonly name: string;
  readonly unit?: string;
  readonly histogram?: { readonly dataPoints?: readonly OtlpDataPoint[] };
}
interface ExportMetricsServiceRequest {
  readonly resourceMetrics?: readonly {
    readonly resource?: Resource;
    readonly scopeMetrics?: readonly { readonly metrics?: readonly OtlpMetric[] }[];
  }[];
}

interface OtlpLogRecord {
  readonly severityText?: string;
  readonly body?: AnyValue;
  readonly attributes?: readonly KeyValue[];
  readonly traceId?: string;
  readonly spanId?: string;
}
interface ExportLogsServiceRequest {
  readonly resourceLogs?: readonly {
    readonly resource?: Resource;
    readonly scopeLogs?: readonly { readonly logRecords?: readonly OtlpLogRecord[] }[];
  }[];
}

/** OTLP span kinds (the API's SpanKind enum is offset by one). */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
/** OTLP status codes. */
export const STATUS_CODE = { UNSET: 0, OK: 1, ERROR: 2 } as const;

type Attributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** One received span, with its resource's and its own attributes flattened to plain objects. */
export interface ReceivedSpan {
  readonly resource: Attributes;
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly durationMs: number;
  readonly attributes: Attributes;
  readonly statusCode: number;
  readonly statusMessage: string;
}

/** One received histogram data point, with its metric's name and resource. */
export interface ReceivedHistogramPoint {
  readonly resource: Attributes;
  readonly metric: string;
  readonly unit: string;
  readonly attributes: Attributes;
  readonly count: number;
}

/** One received log record, with its resource's and its own attributes flattened to plain objects. */
export interface ReceivedLogRecord {
  readonly resource: Attributes;
  readonly severityText: string;
  /** The body when it is a string (the service's `msg`). */
  readonly body: string | undefined;
  readonly attributes: Attributes;
  /** Empty when the record carries no span context. */
  readonly traceId: string;
  readonly spanId: string;
}

/** An OTLP/HTTP JSON receiver on loopback that keeps everything exported to it. */
export interface OtlpReceiver {
  /** The value for OTEL_EXPORTER_OTLP_ENDPOINT (the SDK appends /v1/traces, /v1/metrics and /v1/logs). */
  readonly endpoint: string;
  readonly spans: readonly ReceivedSpan[];
  readonly histogramPoints: readonly ReceivedHistogramPoint[];
  readonly logRecords: readonly ReceivedLogRecord[];
  close(): Promise<void>;
}

/** Starts a receiver on an ephemeral loopback port. It answers 415 to anything but JSON, so a wrong protocol shows. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const histogramPoints: ReceivedHistogramPoint[] = [];
  const logRecords: ReceivedLogRecord[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      chunks.push(chunk as Buffer);
    }
    if (req.method !== 'POST' || !req.headers['content-type']?.startsWith('application/json')) {
      res.writeHead(415).end();
      return;
    }
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (req.url === '/v1/traces') {
      spans.push(...flattenSpans(body as ExportTraceServiceRequest));
    } else if (req.url === '/v1/metrics') {
      histogramPoints.push(...flattenHistograms(body as ExportMetricsServiceRequest));
    } else if (req.url === '/v1/logs') {
      logRecords.push(...flattenLogRecords(body as ExportLogsServiceRequest));
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    histogramPoints,
    logRecords,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function flattenSpans(request: ExportTraceServiceRequest): ReceivedSpan[] {
  return (request.resourceSpans ?? []).flatMap(({ resource, scopeSpans }) =>
    (scopeSpans ?? []).flatMap(({ spans }) =>
      (spans ?? []).map((span) => ({
        resource: toAttributes(resource?.attributes),
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId ?? '',
        name: span.name,
        kind: span.kind,
        durationMs: Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6,
        attributes: toAttributes(span.attributes),
        statusCode: span.status?.code ?? STATUS_CODE.UNSET,
        statusMessage: span.status?.message ?? '',
      })),
    ),
  );
}

function flattenHistograms(request: ExportMetricsServiceRequest): ReceivedHistogramPoint[] {
  return (request.resourceMetrics ?? []).flatMap(({ resource, scopeMetrics }) =>
    (scopeMetrics ?? []).flatMap(({ metrics }) =>
      (metrics ?? []).flatMap((metric) =>
        (metric.histogram?.dataPoints ?? []).map((point) => ({
          resource: toAttributes(resource?.attributes),
          metric: metric.name,
          unit: metric.unit ?? '',
          attributes: toAttributes(point.attributes),
          count: Number(point.count ?? 0),
        })),
      ),
    ),
  );
}

function flattenLogRecords(request: ExportLogsServiceRequest): ReceivedLogRecord[] {
  return (request.resourceLogs ?? []).flatMap(({ resource, scopeLogs }) =>
    (scopeLogs ?? []).flatMap(({ logRecords }) =>
      (logRecords ?? []).map((record) => ({
        resource: toAttributes(resource?.attributes),
        severityText: record.severityText ?? '',
        body: record.body?.stringValue,
        attributes: toAttributes(record.attributes),
        traceId: record.traceId ?? '',
        spanId: record.spanId ?? '',
      })),
    ),
  );
}

function toAttributes(keyValues: readonly KeyValue[] | undefined): Attributes {
  return Object.fromEntries(
    (keyValues ?? []).map(({ key, value }) => [
      key,
      value.stringValue ?? value.boolValue ?? (value.intValue === undefined ? value.doubleValue : Number(value.intValue)),
    ]),
  );
}

/** The OTel settings every service in these tests gets; the batch delays are short so spans and logs arrive quickly. */
export function otelEnv(receiver: OtlpReceiver, overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=e2e',
    OTEL_BSP_SCHEDULE_DELAY: '50',
    OTEL_BLRP_SCHEDULE_DELAY: '50',
    // Metrics are asserted on after SIGTERM, which flushes them; no periodic export in between.
    OTEL_METRIC_EXPORT_INTERVAL: '60000',
    ...overrides,
  };
}

/** Waits until `count` spans of the trace have arrived and returns them. */
export async function traceOf(receiver: OtlpReceiver, traceId: string, count: number): Promise<ReceivedSpan[]> {
  return waitFor(`${count} spans of trace ${traceId}`, () => {
    const spans = receiver.spans.filter((span) => span.traceId === traceId);
    return spans.length >= count ? spans : undefined;
  });
}

/** The one span of `kind` that `service` contributed to a trace. */
export function only(spans: readonly ReceivedSpan[], service: string, kind: number): ReceivedSpan {
  const matching = spans.filter((span) => span.resource['service.name'] === service && span.kind === kind);
  expect(matching, `exactly one span of kind ${kind} on ${service}`).toHaveLength(1);
  return matching[0]!;
}
