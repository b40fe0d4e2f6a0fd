import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBackendClient } from './backend-client.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createHttpServer } from './http-server.ts';
import { createLogger } from './log.ts';
import { backendRoutes, frontendRoutes } from './routes.ts';
import { runningTelemetry, type Telemetry } from './telemetry.ts';

// The composition root: with src/register.ts (which starts OpenTelemetry before this module loads), the only
// module that reads the environment, handles signals or exits the process.

let config: Config;
let telemetry: Telemetry;
try {
  config = loadConfig(process.env);
  telemetry = runningTelemetry();
} catch (error) {
  const logger = createLogger(undefined);
  if (error instanceof ConfigError) {
    logger.error('invalid configuration', { problems: error.problems });
  } else {
    logger.error('cannot start', { error: error instanceof Error ? error.message : String(error) });
  }
  process.exit(1);
}

const logger = createLogger(telemetry.serviceName);
const routes =
  config.role === 'frontend' ? frontendRoutes(telemetry.serviceName, createBackendClient(config.backendUrl)) : backendRoutes(telemetry.serviceName);
const { server, drain } = createHttpServer(routes, logger);

server.on('error', (error) => {
  logger.error('server failed', { error: error.message });
  process.exit(1);
});
server.listen(config.port, () => {
  const { port } = server.address() as AddressInfo;
  logger.info('listening', {
    role: config.role,
    port,
    backend_url: config.role === 'frontend' ? config.backendUrl.href : undefined,
  });
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (!stopping) {
      stopping = true;
      void shutdown(signal);
    }
  });
}

/**
 * Stops taking requests, lets the ones in flight finish within the drain timeout (closing keep-alive connections
 * as their answers go out, so no idle client holds the exit), then flushes the spans, log records and metrics
 * still buffered: with the default 5 s batch delay and 60 s metric interval, a pod that exited on SIGTERM
 * without this would lose its last seconds of telemetry. Both steps are bounded, so the whole stop fits the
 * pod's grace period and the kubelet never has to kill the process. An export that fails or times out is
 * logged, not an error exit: the service itself stopped cleanly, and a collector that is down is not its fault.
 */
async function shutdown(signal: string): Promise<void> {
  logger.info('shutting down', { signal, drain_timeout_ms: config.drainTimeoutMs, flush_timeout_ms: config.flushTimeoutMs });
  const cut = await drain(config.drainTimeoutMs);
  if (cut > 0) {
    logger.warn('requests outlasted the drain timeout', { requests: cut, drain_timeout_ms: config.drainTimeoutMs });
  }
  const flushed = telemetry.shutdown().then(
    () => 'flushed' as const,
    (error: unknown) => error,
  );
  const outcome = await Promise.race([flushed, sleep(config.flushTimeoutMs, 'timed out' as const, { ref: false })]);
  if (outcome === 'timed out') {
    logger.warn('telemetry flush timed out; buffered telemetry is lost', { flush_timeout_ms: config.flushTimeoutMs });
  } else if (outcome !== 'flushed') {
    logger.warn('telemetry flush failed; buffered telemetry is lost', {
      error: outcome instanceof Error ? outcome.message : String(outcome),
    });
  }
  logger.info('stopped');
  process.exit(0);
}
