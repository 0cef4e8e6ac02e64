import { defineConfig } from 'vitest/config';

// Unit tests use fakes only: they share threads without per-file isolation (seconds, not a
// minute). Integration and e2e tests open real sockets, start PGlite and child processes: forks
// keep a crash or a leaked handle in one file from affecting another.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/{security,reliability}/**/*.unit.test.ts'],
          pool: 'threads',
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: [
            'test/integration/**/*.test.ts',
            'test/e2e/**/*.test.ts',
            'test/{security,reliability}/**/*.int.test.ts',
          ],
          pool: 'forks',
        },
      },
    ],
  },
});
