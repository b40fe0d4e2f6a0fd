import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
/** How the service is started everywhere (package.json, Dockerfile): OpenTelemetry first, through --import. */
const NODE_ARGS = ['--import', new URL('../../src/register.ts', import.meta.url).href, MAIN];
/**
 * Node's compile cache, shared by every service the tests start: each start loads the OpenTelemetry SDK (some 150
 * modules), and the cache saves about a quarter of a start's CPU (1.08 s to 0.81 s, medians of 7 on a loaded
 * 2-core machine). It changes nothing the service does, so it is the one variable the tests add.
 */
const COMPILE_CACHE = { NODE_COMPILE_CACHE: fileURLToPath(new URL('../../node_modules/.cache/hello-app-test-compile', import.meta.url)) };

/** Upper bound of any wait in these tests: generous for a loaded 2-core CI machine, short enough to fail fast. */
export const WAIT_TIMEOUT_MS = 15_000;

/** One parsed stdout line of the service. */
export type LogLine = Readonly<Record<string, unknown>>;

/** A service process started by a test. */
export interface ServiceProcess {
  /** The port it listens on, read from its `listening` log line. */
  readonly port: number;
  /** Every stdout line parsed as JSON, in order. */
  readonly logs: readonly LogLine[];
  /** Stdout lines that were not JSON objects (there should be none). */
  readonly nonJsonLines: readonly string[];
  /** Sends the signal at once and resolves with the exit code once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();
// Also when the test worker ends without reaching an afterAll (a crash, a timeout), no service outlives it.
process.once('exit', () => killAllServices());

/**
 * Starts `node --import src/register.ts src/main.ts` with exactly the given environment and the compile cache (nothing
 * inherited, so a developer's OTEL_* variables cannot leak in), waits for its `listening` line and for /healthz to answer 200.
 */
export async function startService(env: Readonly<Record<string, string>>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, NODE_ARGS, { env: { ...env, ...COMPILE_CACHE }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  // 'close' rather than 'exit': it comes after stdout has been read to the end, so the last log lines are in.
  const exited = once(child, 'close').then(([code]) => code as number | null);

  const logs: LogLine[] = [];
  const nonJsonLines: string[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        logs.push(parsed as LogLine);
        return;
      }
    } catch {
      // not JSON: recorded below
    }
    nonJsonLines.push(line);
  });

  const listening = await waitFor('the listening log line', () => {
    if (child.exitCode !== null) {
      throw new Error(`the service exited with ${child.exitCode} before listening; stderr:\n${stderr}\nstdout: ${JSON.stringify(logs)}`);
    }
    return logs.find((line) => line['msg'] === 'listening');
  });
  const port = listening['port'] as number;
  await waitFor('/healthz to answer 200', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    return response?.status === 200 ? true : undefined;
  });

  return {
    port,
    logs,
    nonJsonLines,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
      return withTimeout(exited, `the service to exit after ${signal}`);
    },
  };
}

/**
 * Runs the service with the given environment until it exits by itself (startup failures); returns its exit code
 * and logs. `preload: false` leaves out `--import src/register.ts`.
 */
export async function runServiceToExit(
  env: Readonly<Record<string, string>>,
  { preload = true }: { readonly preload?: boolean } = {},
): Promise<{ code: number | null; logs: LogLine[] }> {
  const child = spawn(process.execPath, preload ? NODE_ARGS : [MAIN], { env: { ...env, ...COMPILE_CACHE }, stdio: ['ignore', 'pipe', 'ignore'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const logs: LogLine[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => logs.push(JSON.parse(line) as LogLine));
  const [code] = await withTimeout(once(child, 'close'), 'the service to exit');
  return { code: code as number | null, logs };
}

/** Kills every service process still running: for afterAll, so a failed test leaves no process behind. */
export function killAllServices(): void {
  for (const child of running) {
    child.kill('SIGKILL');
  }
  running.clear();
}

/** Polls `probe` until it returns something other than undefined; fails after {@link WAIT_TIMEOUT_MS}. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${WAIT_TIMEOUT_MS} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${WAIT_TIMEOUT_MS} ms waiting for ${what}`)), WAIT_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** GETs a path of a service on loopback and parses its JSON answer. */
export async function get(port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A loopback port with nothing listening: bound by the kernel, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
