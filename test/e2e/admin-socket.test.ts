import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSocketPath } from '../../src/app/admin-client.js';
import { loadConfigFile } from '../../src/app/config-schema.js';
import { openStore } from '../../src/app/open-store.js';
import { silentLogger } from '../../src/platform/logger.js';
import type { PgliteStore } from '../../src/store/pglite/store.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { ReportingSimulator } from '../../src/simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../../src/simulators/appliance/reporting/session-generator.js';
import { runBuiltCli, startBuiltCli, type RunningCli } from '../helpers/cli.js';
import { REPORTING_ACCOUNT, writeCa } from '../integration/appliance/harness.js';

const HOUR = 3_600_000;

/**
 * The operator's commands beside a running `serve` on the embedded store: PGlite admits one
 * process per data directory, so `report backfill`, `check` and `db migrate` ask the running bridge
 * through its admin socket instead of failing on the store lock (issue: backfill failed after
 * 12.6 s, check blamed the bridge itself).
 */
describe('operator commands beside a running serve (embedded store)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecm-admin-'));
  const config = join(dir, 'config.yaml');
  const dataDir = join(dir, 'pglite');
  const now = Date.now();
  const generator = new SessionGenerator({
    seed: 11,
    count: 120,
    hostName: '127.0.0.1',
    product: 'pra',
    firstStartMs: now - 10 * HOUR,
    spacingMs: (8 * HOUR) / 120,
  });
  let sim: ApplianceSimulator;
  let serve: RunningCli;
  const env = { REP_SECRET: REPORTING_ACCOUNT.clientSecret as string };

  beforeAll(async () => {
    sim = new ApplianceSimulator({
      accounts: [REPORTING_ACCOUNT],
      heartbeatMs: 200,
      reporting: new ReportingSimulator({ generator, now: Date.now }).handle,
    });
    await sim.start();
    writeFileSync(
      config,
      [
        'sites:',
        `  - name: sim`,
        `    url: "${sim.url}"`,
        `    caFile: "${writeCa(sim.caPem)}"`,
        `    reporting: { clientId: ${REPORTING_ACCOUNT.clientId}, clientSecret: env:REP_SECRET }`,
        `store: { kind: embedded, dataDir: "${dataDir}" }`,
        // The worker pulls the last hour on its own schedule while the backfill loads the rest:
        // both write through the one process, taking turns on the reporting leader lock.
        "reporting: { schedule: '*/5 * * * * *', initialLookbackHours: 1 }",
        'http: { port: 0 }',
        '',
      ].join('\n'),
    );
    serve = startBuiltCli(['serve', '--config', config], env);
    await serve.waitFor(/admin socket listening/);
  });
  afterAll(async () => {
    serve?.kill('SIGKILL');
    await sim?.stop();
  });

  it('the admin socket sits beside the data directory, for its owner only', () => {
    expect(statSync(adminSocketPath(dataDir)).mode & 0o777).toBe(0o600);
  });

  it('check reports the store healthy through the bridge that holds it', async () => {
    const r = await runBuiltCli(['check', '--config', config], env);
    expect(r.stdout).toMatch(
      /OK +store +embedded database +held by the running bridge \(pid \d+\), schema version \d+ \(current\)/,
    );
    expect(r.stdout).not.toMatch(/FAIL +store/);
  });

  it('db migrate answers through the bridge', async () => {
    const r = await runBuiltCli(['db', 'migrate', '--config', config], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/schema version \d+, up to date \(by the running bridge, pid \d+\)/);
  });

  it('report quarantine and report recordings read through the bridge that holds the store', async () => {
    const r = await runBuiltCli(['report', 'quarantine', '--config', config, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ total: 0, shown: [] });
    const owed = await runBuiltCli(['report', 'recordings', '--config', config, '--json'], env);
    expect(owed.code, owed.stderr).toBe(0);
    expect(JSON.parse(owed.stdout)).toEqual({ total: 0, shown: [] });
  });

  it('report backfill runs in the bridge with progress; every session is stored once', async () => {
    const from = new Date(now - 10 * HOUR).toISOString();
    const to = new Date(now).toISOString();
    const r = await runBuiltCli(
      ['report', 'backfill', '--config', config, '--site', 'sim', '--from', from, '--to', to],
      env,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/through the running bridge \(pid \d+\)/);
    expect(r.stdout).toMatch(/\d+ session\(s\) loaded/);
    expect(r.stderr).not.toContain('rerun');
    // A second run of the same range resumes its finished cursor: nothing is loaded twice.
    const again = await runBuiltCli(
      ['report', 'backfill', '--config', config, '--site', 'sim', '--from', from, '--to', to],
      env,
    );
    expect(again.code, again.stderr).toBe(0);

    const exited = new Promise<number | null>((res) => serve.on('exit', (code) => res(code)));
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
    const cfg = loadConfigFile(config, { env });
    const store = await openStore(cfg.store, {
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
    });
    try {
      const { rows } = await (store as PgliteStore).db.query<{ lsid: string }>('SELECT lsid FROM session');
      const lsids = rows.map((r) => r.lsid);
      const want = [...generator.records(now)].filter((s) => s.endTime !== null && s.endTime.getTime() < now);
      expect(want.length).toBeGreaterThan(100);
      expect(new Set(lsids).size).toBe(lsids.length);
      expect(lsids).toEqual(expect.arrayContaining(want.map((s) => s.lsid)));
    } finally {
      await store.close();
    }
  });
});
