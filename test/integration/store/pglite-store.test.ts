import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isServiceError } from '../../../src/platform/errors.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { loadMigrations, loadScripts } from '../../../src/store/migrations.js';
import { PgliteStore } from '../../../src/store/pglite/store.js';
import { StoreMetrics } from '../../../src/store/store-metrics.js';
import { makeEvent, makeSession } from './session-fixture.js';

const RECOMMENDED = [
  'session__start_time_ndx',
  'session__host_name_ndx',
  'session__jump_group_name_ndx',
  'session__lsid_ndx',
  'session_event__type_performed_by_type_ndx',
  'session_event__session_id_ndx',
  'session_event__type_destination_ndx',
  'session_event__type_performed_by_ndx',
  'session_event_data__session_event_id_ndx',
  'session_event_data__name_ndx',
];

const metrics = () => new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'pglite');

async function schemaSnapshot(store: PgliteStore) {
  const indexes = await store.db.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname IN ('public', 'ecm_bridge') ORDER BY indexname`,
  );
  const columns = await store.db.query<{ c: string }>(
    `SELECT table_schema || '.' || table_name || '.' || column_name || ' ' || data_type AS c FROM information_schema.columns
     WHERE table_schema IN ('public', 'ecm_bridge') ORDER BY 1`,
  );
  return { indexes: indexes.rows, columns: columns.rows.map((r) => r.c) };
}

describe('PGlite store: schema', () => {
  let store: PgliteStore;
  beforeAll(async () => {
    store = await PgliteStore.open('memory://', 0, silentLogger(), metrics());
    await store.migrate();
  });
  afterAll(async () => store?.close());

  it('creates each of the ten recommended indexes exactly once', async () => {
    const { indexes } = await schemaSnapshot(store);
    for (const name of RECOMMENDED)
      expect(
        indexes.filter((i) => i.indexname === name),
        name,
      ).toHaveLength(1);
    expect(indexes.find((i) => i.indexname === 'session_event__type_destination_ndx')!.indexdef).toContain(
      '(type, destination)',
    );
  });

  it('the index script run twice more is a no-op', async () => {
    const before = await schemaSnapshot(store);
    const script = loadMigrations('postgres').find((m) => m.name === 'bgsessions_indexes')!.sql;
    await store.db.exec(script);
    await store.db.exec(script);
    expect(await schemaSnapshot(store)).toEqual(before);
  });

  it('every migration file re-run by hand changes nothing (idempotent DDL)', async () => {
    const before = await schemaSnapshot(store);
    for (const m of loadMigrations('postgres')) await store.db.exec(m.sql);
    expect(await schemaSnapshot(store)).toEqual(before);
    expect(await store.schemaVersion()).toBe(loadMigrations('postgres').at(-1)!.version);
  });

  it('the read-only role reads BGSessions and nothing of ecm_bridge', async () => {
    await store.reports.writeSessions([makeSession('ro-1')], { key: 'ro-cursor', value: '1' });
    await store.db.exec(loadScripts('postgres').find((s) => s.file === 'readonly-role.sql')!.sql);
    await store.db.exec('SET ROLE bgsessions_reader');
    try {
      const r = await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM session WHERE lsid = 'ro-1'`);
      expect(r.rows[0]!.n).toBe(1);
      await expect(store.db.query('SELECT * FROM ecm_bridge.report_cursor')).rejects.toThrow(/permission denied/);
      await expect(store.db.query(`DELETE FROM session WHERE lsid = 'ro-1'`)).rejects.toThrow(/permission denied/);
    } finally {
      await store.db.exec('RESET ROLE');
    }
  });

  it('COPY text keeps what CSV could confuse: empty vs NULL, quotes, commas, line breaks, a lone \\. line', async () => {
    const start = new Date(Date.UTC(2026, 0, 1));
    const tricky = ['', '\\.', 'a,b', '"', '""x""', 'line\r\n\\.\nend', ' \\N ', '\t'];
    const s = makeSession('csv-1', {
      externalKey: '',
      duration: null,
      events: tricky.map((body, i) => ({
        ...makeEvent(i, start, body),
        data: [{ name: `n${i}`, value: body }],
      })),
    });
    await store.reports.writeSessions([s]);
    expect(await store.reports.readSession(s.hostName, s.lsid)).toEqual(s);
  });

  it('two spellings of one stored key (a NUL and its marker) in a batch are one session, the last listed', async () => {
    const before = await store.reports.tableCounts();
    const fresh = [
      makeSession('nul\u0000new', { externalKey: 'a' }),
      makeSession('nul\u2400new', { externalKey: 'b' }),
    ];
    expect(await store.reports.writeSessions(fresh)).toEqual({ inserted: 1, updated: 0 });
    const again = [
      makeSession('nul\u2400new', { externalKey: 'c' }, 2),
      makeSession('nul\u0000new', { externalKey: 'd' }),
    ];
    expect(await store.reports.writeSessions(again)).toEqual({ inserted: 0, updated: 1 });
    const back = await store.reports.readSession('access.example.com', 'nul\u2400new');
    expect(back?.externalKey).toBe('d');
    const after = await store.reports.tableCounts();
    expect(after.session! - before.session!).toBe(1);
    expect(after.session_event! - before.session_event!).toBe(3);
    expect(after.customer! - before.customer!).toBe(1);
  });

  it('children get the ids reserved for their parents, whatever else draws from the sequences meanwhile', async () => {
    await store.db.exec(`
      CREATE FUNCTION burn_event_id() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM nextval(pg_get_serial_sequence('session_event', 'id')); RETURN NEW; END $$;
      CREATE TRIGGER burn_event_id BEFORE INSERT ON session_event FOR EACH ROW EXECUTE FUNCTION burn_event_id();`);
    const batch = [makeSession('gappy-1'), makeSession('gappy-2', {}, 4)];
    try {
      expect(await store.reports.writeSessions(batch)).toEqual({ inserted: 2, updated: 0 });
    } finally {
      await store.db.exec('DROP TRIGGER burn_event_id ON session_event; DROP FUNCTION burn_event_id();');
    }
    for (const s of batch) expect(await store.reports.readSession(s.hostName, s.lsid)).toEqual(s);
  });

  it('never attaches children to a guess: an id already taken fails the batch whole', async () => {
    await store.reports.writeSessions([makeSession('taken-0')]);
    // A row inserted with an explicit id ahead of the sequence (as a DBA could): the next
    // batch's reserved block contains that id.
    await store.db.exec(`
      INSERT INTO session_event (id, session_id, seq, event_time, type) OVERRIDING SYSTEM VALUE
      SELECT (SELECT last_value FROM session_event_id_seq) + 2, id, 99, now(), 'manual' FROM session WHERE lsid = 'taken-0'`);
    const before = await store.reports.tableCounts();
    const err = await store.reports
      .writeSessions([makeSession('taken-1'), makeSession('taken-2')], { key: 'taken-cursor', value: 'moved' })
      .catch((e: unknown) => e);
    expect(isServiceError(err, 'store.write_failed')).toBe(true);
    expect((err as Error).message).toMatch(/session_event_pkey/);
    expect(await store.reports.tableCounts()).toEqual(before);
    expect(await store.state.getCursor('taken-cursor')).toBeUndefined();
  });
});

describe('PGlite store: one process per data directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecm-store-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a second opener fails naming the holder; a lock left by a dead process is taken over', async () => {
    const dataDir = join(dir, 'db');
    const first = await PgliteStore.open(dataDir, 0, silentLogger(), metrics());
    const err = await PgliteStore.open(dataDir, 0, silentLogger(), metrics()).catch((e: unknown) => e);
    expect(isServiceError(err, 'store.unavailable')).toBe(true);
    expect((err as Error).message).toContain(`in use by process ${process.pid}`);
    expect(JSON.parse(readFileSync(`${dataDir}.lock`, 'utf8')).pid).toBe(process.pid);
    await first.close();

    // As if a process had crashed holding the directory: its lock file stays behind.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(`${dataDir}.lock`, JSON.stringify({ pid: Number(dead.stdout), host: hostname() }));
    const again = await PgliteStore.open(dataDir, 0, silentLogger(), metrics());
    expect(JSON.parse(readFileSync(`${dataDir}.lock`, 'utf8')).pid).toBe(process.pid);
    // Never migrated: unhealthy, and the reason says what to run.
    expect(await again.schemaVersion()).toBe(0);
    expect(await again.health()).toMatchObject({
      code: 'store.migration_failed',
      message: expect.stringContaining('ecm-bridge db migrate'),
    });
    await again.close();
  });
});
