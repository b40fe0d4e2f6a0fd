/**
 * Just enough of the wire formats the component tests speak, with Node's standard library only: a Prometheus
 * remote-write request (protobuf in snappy), and OTLP sinks standing in for Tempo (gRPC) and Loki (HTTP).
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

// ---------------------------------------------------------------------------------------------------------
// Remote write 1.0: prometheus.WriteRequest, snappy block format
// ---------------------------------------------------------------------------------------------------------

function varint(value: number | bigint): Buffer {
  let v = BigInt(value);
  const bytes: number[] = [];
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Buffer.from(bytes);
}

/** A length-delimited protobuf field (wire type 2). */
function field(number: number, payload: Buffer | string): Buffer {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

/** A WriteRequest of one series with one sample. @see https://prometheus.io/docs/specs/prw/remote_write_spec/ */
export function remoteWriteBody(labels: Readonly<Record<string, string>>, value: number, timestampMs: number): Buffer {
  // Labels must be sorted by name.
  const labelFields = Object.keys(labels)
    .sort()
    .map((name) => field(1, Buffer.concat([field(1, name), field(2, labels[name]!)])));
  const double = Buffer.alloc(8);
  double.writeDoubleLE(value);
  const sample = Buffer.concat([Buffer.from([(1 << 3) | 1]), double, varint(2 << 3), varint(timestampMs)]);
  const series = Buffer.concat([...labelFields, field(2, sample)]);
  return snappy(field(1, series));
}

/** Snappy's block format with literals only: valid input for any decoder, just not compressed. */
function snappy(data: Buffer): Buffer {
  const parts: Buffer[] = [varint(data.length)];
  for (let offset = 0; offset < data.length; offset += 65_536) {
    const chunk = data.subarray(offset, offset + 65_536);
    const n = chunk.length - 1;
    // Tag 60 << 2: the length minus one follows in one byte; 61 << 2: in two bytes, little-endian.
    parts.push(n < 60 ? Buffer.from([n << 2]) : n < 256 ? Buffer.from([60 << 2, n]) : Buffer.from([61 << 2, n & 0xff, n >> 8]), chunk);
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------------------
// OTLP sinks
// ---------------------------------------------------------------------------------------------------------

/** One export request a sink received: its path and its protobuf body, uncompressed. */
export interface Received {
  readonly path: string;
  readonly body: Buffer;
  /** The request's headers (HTTP sink only), names in lower case. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

export interface Sink {
  readonly port: number;
  readonly received: Received[];
  close(): Promise<void>;
}

/**
 * An OTLP/gRPC server (what Tempo's port 4317 is to the collector): HTTP/2 without TLS, answering every unary
 * Export call with an empty success response.
 */
export async function startGrpcSink(): Promise<Sink> {
  const received: Received[] = [];
  const server: Http2Server = createHttp2Server();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      // A gRPC message: 1 byte compressed flag, 4 bytes length, the message (gzip when flagged).
      const frame = Buffer.concat(chunks);
      const message = frame.subarray(5, 5 + frame.readUInt32BE(1));
      received.push({ path: String(headers[':path']), body: frame[0] === 1 ? gunzipSync(message) : message });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** An OTLP/HTTP server (what Loki's /otlp is to the collector), answering every export with 200. */
export async function startHttpSink(): Promise<Sink> {
  const received: Received[] = [];
  const server: Server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({
        path: request.url ?? '',
        body: request.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body,
        headers: request.headers,
      });
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
