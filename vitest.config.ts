import { defineConfig } from 'vitest/config';

// Unit tests use fakes only: they share threads without per-file isolation (seconds, not a
// minute). Integration and e2e tests open real sockets, start PGlite and child processes: forks
// keep a crash or a leaked handle in one file from affecting another.
// Two workers even on a 2-core machine (vitest would use one): integration files spend much of
// their time waiting on sockets and child processes, so a second file overlaps those waits.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    maxWorkers: 2,
    globalSetup: ['test/helpers/repo-guard.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], pool: 'threads', isolate: false } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          pool: 'forks',
          // Bounds for a hang, not expected durations: every wait inside is on a condition, and
          // starting a PGlite cluster alone can take 30 s when the shared machine is crowded.
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
