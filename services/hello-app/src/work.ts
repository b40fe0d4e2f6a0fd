/** What the caller asks the backend to do: how long to take and whether to fail. */
export interface WorkRequest {
  /** Milliseconds the backend waits before answering, to make latency visible in traces and span metrics. */
  readonly delayMs: number;
  /** Whether the backend answers 500, to make errors visible in traces, span metrics and the service graph. */
  readonly fail: boolean;
}

/** Upper bound of `delay_ms`: a demo knob must not be able to hold a connection (and a pod's shutdown) for long. */
export const MAX_DELAY_MS = 10_000;

/**
 * Reads `delay_ms` and `fail` from a query string; both roles accept the same parameters and the frontend
 * forwards them to the backend.
 * @returns the request, or a message naming the parameter, the value received and what is allowed
 */
export function parseWorkRequest(query: URLSearchParams): WorkRequest | string {
  const rawDelay = query.get('delay_ms') ?? '0';
  const delayMs = Number(rawDelay);
  if (!/^\d+$/.test(rawDelay) || delayMs > MAX_DELAY_MS) {
    return `delay_ms: "${rawDelay}" is not allowed; expected an integer from 0 to ${MAX_DELAY_MS}`;
  }
  const rawFail = query.get('fail') ?? 'false';
  if (rawFail !== 'true' && rawFail !== 'false') {
    return `fail: "${rawFail}" is not allowed; expected "true" or "false"`;
  }
  return { delayMs, fail: rawFail === 'true' };
}

/** The query string that asks the backend for `work`; the inverse of {@link parseWorkRequest}. */
export function workQuery(work: WorkRequest): URLSearchParams {
  return new URLSearchParams({ delay_ms: String(work.delayMs), fail: String(work.fail) });
}
