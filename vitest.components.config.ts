// First: on a Node older than Sightline needs, stop with one line saying which (cli/require-node.mjs).
import './cli/require-node.mjs';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:components`: the rendered output against the real upstream binaries that `npm run components`
 * builds (see tools/components/README.md). Not part of `npm test`, which needs no Go toolchain.
 */
export default defineConfig({
  test: {
    // test/rules.test.ts runs again here, with promtool 3.14 first on the PATH (see setup.ts).
    include: ['test/components/*.test.ts', 'test/rules.test.ts'],
    setupFiles: ['test/components/setup.ts'],
    // Each file starts its own servers; two cores cannot run two files' worth of them side by side.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
