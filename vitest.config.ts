// First: on a Node older than Sightline needs, stop with one line saying which (cli/require-node.mjs).
import './cli/require-node.mjs';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The demo service has its own package and test run (npm test runs both).
    include: ['test/**/*.test.ts'],
    // Tests spawn `node main.ts`; a loaded two-core CI machine needs more than the 5 s default.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
