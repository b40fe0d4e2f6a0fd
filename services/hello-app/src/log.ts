import { isSpanContextValid, trace, type SpanContext } from '@opentelemetry/api';

/** Fields of one log line besides the ones every line carries. */
export type LogFields = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

/** Writes one JSON object per line on stdout, the format Promtail parses and Loki's derived fields match. */
export interface Logger {
  info(msg: string, fields?: LogFields, spanContext?: SpanContext): void;
  error(msg: string, fields?: LogFields, spanContext?: SpanContext): void;
}

/**
 * Creates the service's logger. Each line carries `time`, `level`, `service_name`, `msg`, the given fields and,
 * when a span is given or active, `trace_id` and `span_id` (lowercase hex, as Tempo shows them) so Grafana can
 * jump from the line to its trace.
 *
 * @param serviceName the resolved `service.name`, so a log line and its spans name the same service;
 *   undefined before it is known (configuration errors)
 */
export function createLogger(serviceName: string | undefined, write: (line: string) => void = writeStdout): Logger {
  const emit = (level: 'info' | 'error', msg: string, fields: LogFields = {}, spanContext?: SpanContext): void => {
    const context = spanContext ?? trace.getActiveSpan()?.spanContext();
    const correlation = context !== undefined && isSpanContextValid(context)
      ? { trace_id: context.traceId, span_id: context.spanId }
      : {};
    write(`${JSON.stringify({ time: new Date().toISOString(), level, service_name: serviceName, msg, ...fields, ...correlation })}\n`);
  };
  return {
    info: (msg, fields, spanContext) => emit('info', msg, fields, spanContext),
    error: (msg, fields, spanContext) => emit('error', msg, fields, spanContext),
  };
}

// Writes to a pipe or file are synchronous on Linux, so a line written just before process.exit() is not lost.
function writeStdout(line: string): void {
  process.stdout.write(line);
}
