/**
 * Benchmark (issue 16, point 5): the bridge's report write path against a raw bulk load of the
 * same rows into the same schema, on each store, in the same run.
 *
 *   npx tsx --expose-gc scripts/bench/ingestion.ts [--runs 5] [--sessions 400] [--events 50]
 *   MSSQL_URL=$(../shared/tools/tsql-engine/up.sh) npx tsx --expose-gc scripts/bench/ingestion.ts   # adds SQL Server
 *
 * - Embedded store (PGlite, a data directory): `writeSessions` (upsert of the sessions, COPY of
 *   the events and every child table, the cursor) against raw COPY of the prepared rows into the
 *   same tables: one COPY per table in one transaction, parent ids known beforehand (identities
 *   restart at 1 on the emptied tables and PGlite has one connection), so no id is read back,
 *   and the COPY texts encoded before the timer starts. That is the floor of any loader: the
 *   same rows, in the same batch size as the writer's (20,000 events by default; at 5,000, with
 *   the texts encoded inside the timer, the raw load lost to the writer by 13-23 %).
 * - SQL Server (MSSQL_URL): `writeSessions` of the mssql store against a raw `mssql` bulk insert
 *   (`table.rows.add` + `request.bulk`, the same bulk options) of the same rows, one bulk per
 *   table in one transaction, reading back only the ids the next table needs (TDS bulk copy
 *   through the driver cannot keep identity values).
 * Rows are prepared before the raw load is timed; the bridge's time includes turning session
 * records into rows. With --expose-gc the heap is collected before every timed write, so no
 * case pays for the garbage of the one before (the raw load's row preparation in particular). Every run starts from empty tables, and the order alternates between runs.
 * "re-pulled" writes the same batch again: the sessions exist, so the store replaces their
 * children instead of duplicating them (counted after each run). Figures: events per wall-clock
 * second, median of `runs`, with the load average before each run; and events per CPU second of
 * this process, which on PGlite includes the database (it runs in the process) and so holds
 * steady on a shared machine, while for SQL Server it is the client's share only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type sql from 'mssql';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import type { ReportStore } from '../../src/reporting/report-store-port.js';
import type { SessionRecord } from '../../src/reporting/session-record.js';
import {
  BGSESSIONS_TABLES,
  EVENT_CHILD_TABLES,
  SESSION,
  SESSION_CHILD_TABLES,
  SESSION_EVENT,
  type Table,
} from '../../src/store/bgsessions-tables.js';
import { bulkTable } from '../../src/store/mssql/params.js';
import { MssqlStore } from '../../src/store/mssql/store.js';
import { CopyText } from '../../src/store/pglite/copy.js';
import { PgliteStore } from '../../src/store/pglite/store.js';
import { planBatch, type Row, type SessionPlan } from '../../src/store/session-rows.js';
import { StoreMetrics } from '../../src/store/store-metrics.js';
import { configFromUrl } from '../../test/helpers/mssql-url.js';
import { describe, load1, machineLine, median, printTable, type Sampled } from './bench-stats.js';
import { sessionBatch } from './session-batch.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    sessions: { type: 'string', default: '400' },
    events: { type: 'string', default: '50' },
  },
});
const RUNS = Number(args.runs);
const batch = sessionBatch(0, Number(args.sessions), Number(args.events));
const EVENTS = batch.reduce((n, s) => n + s.events.length, 0);
const gc = (globalThis as { gc?: () => void }).gc;

/** One engine under test: how to empty its tables, load raw, and the bridge's store on it. */
interface Engine {
  name: string;
  reports: ReportStore;
  empty(): Promise<void>;
  /** Returns the raw load of `plans`, prepared (rows built) but not started. */
  raw(plans: SessionPlan[]): () => Promise<void>;
  counts(): Promise<Record<string, number>>;
}

/** The rows of each table for a batch, parents' ids filled in from `sessionId(i)` and `eventId(i, seq)`. */
function tableRows(
  plans: SessionPlan[],
  sessionId: (i: number) => unknown,
  eventId: (i: number, seq: number) => unknown,
): Map<Table, Row[]> {
  const rows = new Map<Table, Row[]>();
  for (const t of [...EVENT_CHILD_TABLES, ...SESSION_CHILD_TABLES]) rows.set(t, []);
  plans.forEach((p, i) => {
    for (const e of p.events)
      for (const t of EVENT_CHILD_TABLES)
        rows.get(t)!.push(...(e.children.get(t) ?? []).map((r) => [eventId(i, e.seq), ...r]));
    for (const t of SESSION_CHILD_TABLES)
      rows.get(t)!.push(...(p.children.get(t) ?? []).map((r) => [sessionId(i), ...r]));
  });
  return rows;
}

/** Full rows of `table` as one COPY's text, encoded now. */
function copyText(table: Table, rows: Row[]): CopyText {
  const text = new CopyText(table);
  for (const row of rows) text.add('', row);
  return text;
}

async function pgliteEngine(dir: string): Promise<Engine & { close(): Promise<void> }> {
  const store = await PgliteStore.open(
    dir,
    0,
    silentLogger(),
    new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'pglite'),
  );
  await store.migrate();
  return {
    name: 'PGlite',
    reports: store.reports,
    empty: async () => {
      await store.db.exec(`TRUNCATE ${BGSESSIONS_TABLES.map((t) => t.name).join(', ')} RESTART IDENTITY`);
    },
    raw(plans) {
      // Fresh identities on one connection: session i gets id i+1, events are numbered in row order.
      const events = plans.flatMap((p, i) => p.events.map((e) => [i + 1, ...e.row]));
      const eventIds = new Map(events.map((e, n) => [`${e[0]}:${e[1]}`, n + 1]));
      const children = tableRows(
        plans,
        (i) => i + 1,
        (i, seq) => eventIds.get(`${i + 1}:${seq}`),
      );
      // Encoded before the timer starts: the timed part is the COPY statements alone, the floor.
      const texts = [
        copyText(
          SESSION,
          plans.map((p) => p.session),
        ),
        copyText(SESSION_EVENT, events),
        ...[...children].map(([t, rows]) => copyText(t, rows)),
      ];
      return () =>
        store.db.transaction(async (tx) => {
          for (const text of texts) await text.copy(tx);
        });
    },
    counts: () => store.reports.tableCounts(),
    close: () => store.close(),
  };
}

async function mssqlEngine(url: string): Promise<Engine & { close(): Promise<void> }> {
  const store = await MssqlStore.open(
    configFromUrl(url),
    silentLogger(),
    new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'mssql'),
  );
  await store.migrate();
  // Emptying runs on its own connection: on the T-SQL engine, a DELETE on a connection that had
  // bulk-loaded through the store failed with a mangled table name (bgsessions_bgsessions_dbo).
  const cleaner = (
    await MssqlStore.open(
      configFromUrl(url, { pool: { max: 1, idleTimeoutMs: 60_000 } }),
      silentLogger(),
      new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'mssql'),
    )
  ).pool;
  const bulk = (tx: sql.Transaction, t: Table, rows: Row[]) =>
    rows.length === 0
      ? Promise.resolve()
      : tx.request().bulk(bulkTable(t, rows), { keepNulls: true, checkConstraints: true, fireTriggers: true });
  // Children first: the foreign keys point from them to session_event and session.
  const deletionOrder = [...EVENT_CHILD_TABLES, SESSION_EVENT, ...SESSION_CHILD_TABLES, SESSION];
  return {
    name: 'SQL Server (T-SQL engine)',
    reports: store.reports,
    empty: async () => {
      for (const t of deletionOrder) await cleaner.request().query(`DELETE FROM dbo.${t.name}`);
    },
    raw(plans) {
      const sessions = plans.map((p) => p.session);
      return async () => {
        const tx = store.pool.transaction();
        await tx.begin();
        try {
          await bulk(tx, SESSION, sessions);
          // The tables were empty: every row read back is one just loaded.
          const sid = new Map(
            (await tx.request().query<{ id: string; lsid: string }>('SELECT id, lsid FROM dbo.session')).recordset.map(
              (r) => [r.lsid, Number(r.id)],
            ),
          );
          const sessionId = (i: number) => sid.get(plans[i]!.lsid);
          await bulk(
            tx,
            SESSION_EVENT,
            plans.flatMap((p, i) => p.events.map((e) => [sessionId(i), ...e.row])),
          );
          const eid = new Map(
            (
              await tx
                .request()
                .query<{ id: string; session_id: string; seq: number }>(
                  'SELECT id, session_id, seq FROM dbo.session_event',
                )
            ).recordset.map((r) => [`${r.session_id}:${r.seq}`, Number(r.id)]),
          );
          for (const [t, rows] of tableRows(plans, sessionId, (i, seq) => eid.get(`${sessionId(i)}:${seq}`)))
            await bulk(tx, t, rows);
          await tx.commit();
        } catch (e) {
          await tx.rollback().catch(() => undefined);
          throw e;
        }
      };
    },
    counts: () => store.reports.tableCounts(),
    close: async () => (await cleaner.close(), await store.pool.close()),
  };
}

/** Events per wall-clock second and per CPU second of this process (PGlite's Postgres runs in it). */
async function rates(work: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t = performance.now();
  await work();
  const c = process.cpuUsage(c0);
  return { wall: (EVENTS * 1000) / (performance.now() - t), cpu: (EVENTS * 1e6) / (c.user + c.system) };
}

/** Wall and CPU rates of one case over the runs, with the load before each run. */
class Case {
  readonly wall: Sampled = { values: [], loads: [] };
  readonly cpu: Sampled = { values: [], loads: [] };
  async run(work: () => Promise<unknown>): Promise<void> {
    gc?.();
    const load = load1();
    const r = await rates(work);
    this.wall.values.push(r.wall);
    this.cpu.values.push(r.cpu);
    this.wall.loads.push(load);
    this.cpu.loads.push(load);
  }
}

/** `RUNS` runs of raw load, bridge write and re-pull on `engine`, each from empty tables. */
async function measure(engine: Engine, sessions: SessionRecord[]) {
  const raw = new Case();
  const bridge = new Case();
  const again = new Case();
  let expected: Record<string, number> | undefined;
  const checkCounts = async (what: string) => {
    const counts = await engine.counts();
    expected ??= counts;
    if (JSON.stringify(counts) !== JSON.stringify(expected))
      throw new Error(`${engine.name}: ${what} left ${JSON.stringify(counts)}, expected ${JSON.stringify(expected)}`);
  };
  // Warm-up, not measured: a running bridge writes a batch every minute, so both paths are
  // compared with their code compiled (the first writes of a process run mostly unoptimised).
  for (let i = 0; i < 2; i++) {
    await engine.empty();
    await engine.raw(planBatch(sessions))();
    await engine.empty();
    await engine.reports.writeSessions(sessions);
  }
  for (let run = 0; run < RUNS; run++) {
    const steps = [
      async () => {
        await engine.empty();
        const load = engine.raw(planBatch(sessions));
        await raw.run(load);
        await checkCounts('the raw load');
      },
      async () => {
        await engine.empty();
        await bridge.run(() => engine.reports.writeSessions(sessions));
        await checkCounts('writeSessions');
        await again.run(() => engine.reports.writeSessions(sessions));
        await checkCounts('writeSessions of the same sessions again');
      },
    ];
    // Alternate which goes first, so neither always meets a warmer (or busier) machine.
    for (const step of run % 2 ? steps.reverse() : steps) await step();
  }
  const ratio = (s: Sampled, base: Sampled) => `${median(s.values.map((v, i) => v / base.values[i]!)).toFixed(2)}x`;
  const row = (name: string, c: Case): string[] => [
    `${engine.name}: ${name}`,
    describe(c.wall, 0),
    c === raw ? 'baseline' : ratio(c.wall, raw.wall),
    `${median(c.cpu.values).toFixed(0)} (${c.cpu.values.map((v) => v.toFixed(0)).join(' / ')})`,
    c === raw ? 'baseline' : ratio(c.cpu, raw.cpu),
  ];
  return [
    row('raw bulk load', raw),
    row('writeSessions, new sessions', bridge),
    row('writeSessions, same sessions re-pulled', again),
  ];
}

const dir = mkdtempSync(join(tmpdir(), 'ecm-bench-ingest-'));
const rows: string[][] = [];
try {
  const pglite = await pgliteEngine(join(dir, 'pglite'));
  try {
    rows.push(...(await measure(pglite, batch)));
  } finally {
    await pglite.close();
  }
  const url = process.env.MSSQL_URL;
  if (url) {
    const mssql = await mssqlEngine(url);
    try {
      rows.push(...(await measure(mssql, batch)));
      await mssql.empty();
    } finally {
      await mssql.close();
    }
  }
  console.log(
    `ingestion benchmark: ${batch.length} sessions x ${Number(args.events)} events per write (${EVENTS} events), median of ${RUNS} runs`,
  );
  console.log(
    `${machineLine()}; gc ${gc ? 'collected before each timed write' : 'not exposed (run with --expose-gc)'}`,
  );
  if (!url) console.log('SQL Server rows skipped: MSSQL_URL is not set');
  console.log('');
  printTable(
    ['case', 'events/s wall (runs; load)', 'vs raw', 'events/CPU-s of this process (runs)', 'vs raw (CPU)'],
    rows,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
