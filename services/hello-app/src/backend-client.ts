import { MAX_DELAY_MS, workQuery, type WorkRequest } from './work.ts';

/** The backend's answer: its status code and its JSON body (null when the body is not JSON). */
export interface BackendReply {
  readonly status: number;
  readonly body: unknown;
}

/** Asks the backend role for work; rejects when the backend cannot be reached or does not answer in time. */
export type BackendClient = (work: WorkRequest) => Promise<BackendReply>;

/** Generous above the longest delay a caller may request, so only a stuck backend times out. */
const TIMEOUT_MS = MAX_DELAY_MS + 5_000;

/**
 * Creates the frontend's client for the backend role. `@opentelemetry/instrumentation-undici` (registered by
 * src/register.ts) makes each call a CLIENT span, child of the active span, and sends its context in the
 * `traceparent` header: the backend's SERVER span becomes its child, which is the client/server pair Tempo's
 * service graph turns into an edge between the two services.
 *
 * @param backendUrl base URL of the backend (ends in `/`)
 */
export function createBackendClient(backendUrl: URL): BackendClient {
  return async (work) => {
    const response = await fetch(new URL(`work?${workQuery(work)}`, backendUrl), { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body: unknown = await response.json().catch(() => null);
    return { status: response.status, body };
  };
}
