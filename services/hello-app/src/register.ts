// The service's preload, given to `node --import` (package.json's start script, the Dockerfile, the tests): it
// starts OpenTelemetry before src/main.ts and the modules it imports are loaded, so the HTTP instrumentation can
// patch `node:http` as the service imports it. Like main.ts, it reads the environment.
import { register } from 'import-in-the-middle/register-hooks.mjs';
import pkg from '../package.json' with { type: 'json' };
import { ConfigError, loadConfig } from './config.ts';

// An ES module import of `node:http` never passes through require(), where require-in-the-middle patches modules:
// import-in-the-middle's in-thread loader hook (module.registerHooks) hands the instrumentation the module as it
// is imported. Only these modules are intercepted; everything else loads untouched.
register({ include: ['http', 'https'] });

let defaultServiceName: string | undefined;
try {
  defaultServiceName = loadConfig(process.env).defaultServiceName;
} catch (error) {
  if (!(error instanceof ConfigError)) {
    throw error;
  }
}
if (defaultServiceName !== undefined) {
  // Loaded only when there is something to trace: an invalid configuration is reported by main.ts, which exits.
  const { startTelemetry } = await import('./telemetry.ts');
  startTelemetry(defaultServiceName, pkg.version);
}
