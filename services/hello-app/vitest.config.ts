import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The end-to-end tests start real processes; their own waits are bounded by WAIT_TIMEOUT_MS (15 s).
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
