import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // services/ are their own workspaces with their own `npm test`; the root suite covers the cdk8s app only.
    include: ['test/**/*.test.ts'],
    // Until the cdk8s app has its first test file, `vitest run` would fail on "no test files".
    passWithNoTests: true,
  },
});
