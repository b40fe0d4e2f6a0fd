import type { AddressInfo } from 'node:net';
import pkg from '../package.json' with { type: 'json' };
import { createBackendClient } from './backend-client.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createHttpServer } from './http-server.ts';
import { createLogger } from './log.ts';
import { backendRoutes, frontendRoutes } from './routes.ts';
import { startTelemetry } from './telemetry.ts';

// The composition root: the only module that reads the environment, handles signals or exits the process.

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) {
    throw error;
  }
  createLogger(undefined).error('invalid configuration', { problems: error.problems });
  process.exit(1);
}

// Started before anything else creates instruments: the metrics API hands out no-op meters until then.
const telemetry = startTelemetry(config.defaultServiceName, pkg.version);
const logger = createLogger(telemetry.serviceName);
const routes = config.role === 'frontend'
  ? frontendRoutes(telemetry.serviceName, createBackendClient(config.backendUrl))
  : backendRoutes(telemetry.serviceName);
const server = createHttpServer(routes, logger);

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
 * Stops taking requests, lets the ones in flight finish (their spans end with them), then flushes the spans
 * and metrics still buffered: with the default 5 s batch delay and 60 s metric interval, a pod that exited on
 * SIGTERM without this would lose its last seconds of telemetry.
 */
async function shutdown(signal: string): Promise<void> {
  logger.info('shutting down', { signal });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  try {
    await telemetry.shutdown();
    logger.info('stopped');
    process.exit(0);
  } catch (error) {
    logger.error('telemetry flush failed', { error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
}
