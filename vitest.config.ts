// First: on a Node older than Sightline needs, stop with one line saying which (cli/require-node.mjs).
import './cli/require-node.mjs';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The demo service has its own package and test run (npm test runs both).
    include: ['test/**/*.test.ts'],
    // Test files share their workers: each fresh worker would load cdk8s, cdk8s-plus and zod again (about 1.7 s
    // a file on this 2-core machine), more than half of the run. No test changes module state or the
    // environment, and every render builds its own App, so nothing leaks from one file to the next.
    isolate: false,
    // The component tier needs binaries built with Go: `npm run test:components` runs it.
    exclude: [...configDefaults.exclude, 'test/components/**'],
    // Tests spawn `node main.ts`; a loaded two-core CI machine needs more than the 5 s default.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
