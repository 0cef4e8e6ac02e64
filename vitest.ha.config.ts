import { defineConfig } from 'vitest/config';

// The HA campaign (issue 29, point 10): replicas of `serve` under faults on the T-SQL engine.
// Minutes, not seconds, so it is not part of `npm test` (the team's quick loop); CI runs it as a
// stage of its own (`npm run test:ha`, after `npm test`). One file at a time: each scenario
// runs three replicas and the engine, enough for the 2-core machine.
export default defineConfig({
  test: {
    include: ['test/ha/**/*.ha.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default'],
    globalSetup: ['test/helpers/repo-guard.ts'],
    // Bounds for a hang, not expected durations: every wait inside is on a condition.
    testTimeout: 900_000,
    hookTimeout: 300_000,
  },
});
