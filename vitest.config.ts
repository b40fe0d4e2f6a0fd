import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The demo service has its own package and test run (npm test runs both).
    include: ['test/**/*.test.ts'],
    // The component tier needs binaries built with Go: `npm run test:components` runs it.
    exclude: [...configDefaults.exclude, 'test/components/**'],
    // Tests spawn `node main.ts`; a loaded two-core CI machine needs more than the 5 s default.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
