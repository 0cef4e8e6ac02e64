/**
 * The figures of the HA campaign (issue 29, point 10): the same scenarios as
 * test/ha/replica-faults.ha.test.ts (three `serve` replicas from dist/ on one SQL Server database,
 * console load, one fault each), run in turn and printed as tables with the machine's load.
 * Needs MSSQL_URL (the T-SQL engine: ../shared/tools/tsql-engine/up.sh) and a fresh build.
 *
 *   MSSQL_URL=... npx tsx scripts/bench/ha-campaign.ts [--runs 1] [--only kill,outage,freeze,rolling]
 *   HA_OUTAGE_SECONDS=30 sets the database outage's length.
 */
import { loadavg } from 'node:os';
import { HaCluster } from '../../test/ha/ha-cluster.js';
import { databaseOutage, freezeActive, killMidRelease, rollingRestart } from '../../test/ha/ha-scenarios.js';

if (!process.env.MSSQL_URL) {
  console.error('MSSQL_URL is not set: start the T-SQL engine (../shared/tools/tsql-engine/up.sh) and export its URL');
  process.exit(2);
}
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(arg('--runs') ?? 1);
const scenarios = {
  kill: killMidRelease,
  outage: databaseOutage,
  freeze: freezeActive,
  rolling: rollingRestart,
} as const;
const only = (arg('--only')?.split(',') ?? Object.keys(scenarios)) as (keyof typeof scenarios)[];

const load = () => loadavg()[0]!.toFixed(1);
const tables = new Map<string, Record<string, unknown>[]>();
for (let run = 1; run <= runs; run++) {
  for (const name of only) {
    const before = load();
    const c = await HaCluster.start(name);
    try {
      const { figures } = await scenarios[name](c);
      const rows = tables.get(name) ?? [];
      rows.push({ run, ...figures, load: `${before} → ${load()}` });
      tables.set(name, rows);
    } catch (e) {
      console.error(c.dump());
      throw e;
    } finally {
      await c.close();
    }
  }
}
for (const [name, rows] of tables) {
  console.log(`\n${name}`);
  console.table(rows);
}
