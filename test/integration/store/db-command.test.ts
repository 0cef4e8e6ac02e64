import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBuiltCli, runCliInProcess } from '../../helpers/cli.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { loadMigrations } from '../../../src/store/migrations.js';
import { PgliteStore } from '../../../src/store/pglite/store.js';
import { StoreMetrics } from '../../../src/store/store-metrics.js';

/** The numbered migrations (their numbers may have gaps: each change takes the number it was given). */
const VERSIONS = loadMigrations('postgres').map((m) => m.version);
const LATEST = VERSIONS.at(-1)!;

const dir = mkdtempSync(join(tmpdir(), 'ecm-db-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, extra = ''): { file: string; dataDir: string } {
  const dataDir = join(dir, name);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `store:\n  kind: embedded\n  dataDir: ${dataDir}\n${extra}log:\n  level: warn\n`);
  return { file, dataDir };
}

/** Two PGlite openers need two processes: each runs the built CLI. */
const cli = (args: string[]) => runBuiltCli(args);
const inProcess = (argv: string[]) => runCliInProcess(argv);

const open = (dataDir: string) =>
  PgliteStore.open(
    dataDir,
    0,
    silentLogger(),
    new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'pglite'),
  );

describe('ecm-bridge db migrate', () => {
  it('run by two processes at once: one migrates, the other waits and finds the schema current; a holder makes a third fail clearly', async () => {
    // The waiter's bound covers the other process's whole migration on a crowded machine.
    const { file, dataDir } = config('concurrent', '  lockWaitMs: 240000\n');
    await (await open(dataDir)).close(); // create the cluster up front: initdb is slow and not what is tested
    const [a, b] = await Promise.all([
      cli(['db', 'migrate', '--config', file]),
      cli(['db', 'migrate', '--config', file]),
    ]);
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0]);
    const outputs = [a.stdout, b.stdout].sort();
    expect(outputs[0]).toContain(`schema version 0 -> ${LATEST} (`);
    expect(outputs[1]).toContain(`schema version ${LATEST}, up to date`);
    const store = await open(dataDir);
    try {
      const versions = await store.db.query<{ version: number }>(
        'SELECT version FROM ecm_bridge.schema_version ORDER BY version',
      );
      expect(versions.rows.map((r) => r.version)).toEqual(VERSIONS);
      expect(await store.health()).toBeUndefined();

      // While this process holds the directory, a third migrate fails clearly (lock file names this process).
      const held = config('concurrent', '  lockWaitMs: 0\n');
      const r = await inProcess(['db', 'migrate', '--config', held.file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `error [store.unavailable]: the embedded database ${dataDir} is in use by process ${process.pid}`,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace for console users
      expect(await store.migrate()).toBe(LATEST); // the holder's database is untouched and usable
    } finally {
      await store.close();
    }
  });
});

describe('ecm-bridge db print-sql', () => {
  it('prints every migration and the read-only login script for SQL Server, each recommended index once', async () => {
    const r = await inProcess(['db', 'print-sql', '--dialect', 'mssql']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^-- ecm-bridge schema, dialect mssql, version ${LATEST}\\b`));
    expect(r.stdout).toContain('CREATE TABLE dbo.session (');
    expect(r.stdout).toContain('ALTER ROLE db_datareader ADD MEMBER');
    for (const name of [
      'session__lsid_ndx',
      'session_event__type_destination_ndx',
      'session_event_data__name_ndx',
      'lease__vault_request_ndx',
      'lease__lsid_account_ndx',
    ]) {
      expect(r.stdout.match(new RegExp(`CREATE INDEX ${name} `, 'g'))).toHaveLength(1);
    }
    expect(r.stdout).not.toMatch(/\bMERGE\b/);
  });

  it('prints the postgres model and refuses an unknown dialect with usage', async () => {
    expect((await inProcess(['db', 'print-sql', '--dialect', 'postgres'])).stdout).toContain(
      'CREATE TABLE IF NOT EXISTS session (',
    );
    const bad = await inProcess(['db', 'print-sql', '--dialect', 'oracle']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--dialect must be mssql or postgres (got "oracle")');
  });
});
