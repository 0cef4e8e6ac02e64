import { defineConfig } from 'vitest/config';

// The test layout (CONTRIBUTING.md, "Where a test goes"): the path alone says the kind, and the
// kind says the project. test/unit/** is unit, test/integration/** and test/e2e/** are
// integration; the cross-cutting folders test/security and test/reliability say it in the file
// name (*.unit.test.ts, *.int.test.ts).

// Unit tests use fakes only: they share threads without per-file isolation (seconds, not a
// minute). Integration and e2e tests open real sockets, start PGlite and child processes: forks
// keep them out of the runner process. Each fork runs file after file without re-importing the
// source tree and its dependencies for every file (on the 2-core machine: 16 s of imports
// instead of 75 s); every test cleans up its servers, stores and patched prototypes itself.
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
          isolate: false,
          // Bounds for a hang, not expected durations: every wait inside is on a condition. On the
          // shared 2-core machine at load 20, two processes starting file-backed PGlite clusters
          // took over 120 s (the same tests take 5-30 s on a quiet machine).
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
