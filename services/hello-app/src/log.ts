import { isSpanContextValid, logs, ROOT_CONTEXT, SeverityNumber, trace, type Attributes, type SpanContext } from '@opentelemetry/api';
import { INSTRUMENTATION_SCOPE } from './telemetry.ts';

/** Fields of one log line besides the ones every line carries. */
export type LogFields = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

type Level = 'info' | 'warn' | 'error';

/** Writes each entry twice: as a JSON line on stdout and as an OpenTelemetry log record. */
export interface Logger {
  info(msg: string, fields?: LogFields, spanContext?: SpanContext): void;
  warn(msg: string, fields?: LogFields, spanContext?: SpanContext): void;
  error(msg: string, fields?: LogFields, spanContext?: SpanContext): void;
}

const SEVERITY: Readonly<Record<Level, SeverityNumber>> = {
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};

/**
 * Creates the service's logger. Each entry is written as one JSON object per line on stdout (`time`, `level`,
 * `service_name`, `msg`, the given fields, and `trace_id`/`span_id` in lowercase hex when a span is given or
 * active), which Promtail ships and Grafana's derived field links to the trace; and it is emitted through the
 * OpenTelemetry Logs API, the bridge for logging libraries, so the SDK exports it over OTLP with the span's
 * trace and span ids, to the collector's logs pipeline and Loki's OTLP ingestion.
 *
 * Before the SDK is started (configuration errors) the Logs API is a no-op and only the line is written.
 *
 * @param serviceName the resolved `service.name`, so a log line and its spans name the same service;
 *   undefined before it is known (configuration errors)
 * @see https://opentelemetry.io/docs/specs/otel/logs/api/
 */
export function createLogger(serviceName: string | undefined, write: (line: string) => void = writeStdout): Logger {
  const otelLogger = logs.getLogger(INSTRUMENTATION_SCOPE);
  const emit = (level: Level, msg: string, fields: LogFields = {}, spanContext?: SpanContext): void => {
    const time = new Date();
    const context = spanContext ?? trace.getActiveSpan()?.spanContext();
    const correlated = context !== undefined && isSpanContextValid(context);
    const correlation = correlated ? { trace_id: context.traceId, span_id: context.spanId } : {};
    write(`${JSON.stringify({ time: time.toISOString(), level, service_name: serviceName, msg, ...fields, ...correlation })}\n`);
    otelLogger.emit({
      timestamp: time,
      severityNumber: SEVERITY[level],
      severityText: level.toUpperCase(),
      body: msg,
      attributes: definedFields(fields),
      // The SDK takes the record's trace_id and span_id from the span in this context.
      context: correlated ? trace.setSpanContext(ROOT_CONTEXT, context) : ROOT_CONTEXT,
    });
  };
  return {
    info: (msg, fields, spanContext) => emit('info', msg, fields, spanContext),
    warn: (msg, fields, spanContext) => emit('warn', msg, fields, spanContext),
    error: (msg, fields, spanContext) => emit('error', msg, fields, spanContext),
  };
}

/** JSON.stringify leaves undefined fields out of the line; the log record must not carry them either. */
function definedFields(fields: LogFields): Attributes {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

// Writes to a pipe or file are synchronous on Linux, so a line written just before process.exit() is not lost.
function writeStdout(line: string): void {
  process.stdout.write(line);
}
