/**
 * Write throughput of the embedded store (PGlite) for report batches, against a naive baseline
 * measured in the same run, and memory across many batches.
 *
 *   npx tsx --expose-gc scripts/bench/store-write.ts [--batches 8] [--sessions 1000] [--events 50]
 *       [--baseline-sessions 200] [--memory]
 *
 * Each batch is one writeSessions call (one transaction) of SESSIONS sessions x EVENTS events,
 * each event with a body and two data values, each session with a customer, a representative
 * and a custom attribute. The baseline writes the same kind of rows with one parameterised
 * INSERT per row in one transaction (what a straightforward adapter does), on a smaller batch
 * because it is slow; rates are per second either way. PGlite runs inside this process, so the
 * CPU time of the process is the database's too: "events/CPU-s" is the rate a machine with a
 * free core would see, "events/s" the wall-clock rate on this (possibly shared) machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import type { SessionRecord } from '../../src/reporting/session-record.js';
import { sessionBatch } from './session-batch.js';
import {
  EVENT_CHILD_TABLES,
  SESSION,
  SESSION_CHILD_TABLES,
  SESSION_EVENT,
  type Table,
} from '../../src/store/bgsessions-tables.js';
import { PgliteStore } from '../../src/store/pglite/store.js';
import { planBatch } from '../../src/store/session-rows.js';
import { StoreMetrics } from '../../src/store/store-metrics.js';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '8' },
    sessions: { type: 'string', default: '1000' },
    events: { type: 'string', default: '50' },
    'baseline-sessions': { type: 'string', default: '200' },
    memory: { type: 'boolean', default: false },
  },
});
const BATCHES = Number(args.batches);
const SESSIONS = Number(args.sessions);
const EVENTS = Number(args.events);
const BASELINE_SESSIONS = Number(args['baseline-sessions']);
const makeBatch = (batch: number, sessions = SESSIONS) => sessionBatch(batch, sessions, EVENTS);

/** The baseline: the same rows, one INSERT ... RETURNING per row, in one transaction. */
async function naiveWrite(store: PgliteStore, sessions: SessionRecord[]): Promise<void> {
  const insert = (t: Table) =>
    `INSERT INTO ${t.name} (${t.columns.map((c) => c.name).join(', ')}) VALUES (${t.columns.map((_c, i) => `$${i + 1}`).join(', ')})`;
  await store.db.transaction(async (tx) => {
    for (const p of planBatch(sessions)) {
      const sid = (await tx.query<{ id: number }>(`${insert(SESSION)} RETURNING id`, p.session)).rows[0]!.id;
      for (const e of p.events) {
        const eid = (await tx.query<{ id: number }>(`${insert(SESSION_EVENT)} RETURNING id`, [sid, ...e.row])).rows[0]!
          .id;
        for (const t of EVENT_CHILD_TABLES)
          for (const r of e.children.get(t) ?? []) await tx.query(insert(t), [eid, ...r]);
      }
      for (const t of SESSION_CHILD_TABLES)
        for (const r of p.children.get(t) ?? []) await tx.query(insert(t), [sid, ...r]);
    }
  });
}

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number) => (n / 1_048_576).toFixed(0);
const rate = (n: number, ms: number) => Math.round((n * 1000) / ms).toLocaleString('en-US');

/** Wall-clock and CPU milliseconds of `work`. */
async function time(work: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

/**
 * Calibration: single-row INSERTs into a plain three-column table, the measurement the project's
 * sizing note quotes (about 11,000 rows/s on an idle machine of this type). Shows how much of
 * this machine the run actually got.
 */
async function calibrate(): Promise<number> {
  const db = await PgliteStore.open(
    'memory://',
    0,
    silentLogger(),
    new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'pglite'),
  );
  await db.db.exec(
    'CREATE TABLE calibration (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a text, b int, c timestamptz)',
  );
  const t = await time(() =>
    db.db.transaction(async (tx) => {
      for (let i = 0; i < 5000; i++)
        await tx.query('INSERT INTO calibration (a, b, c) VALUES ($1, $2, $3)', [`row ${i}`, i, new Date()]);
    }),
  );
  await db.close();
  return (5000 * 1000) / t.cpuMs;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ecm-bench-store-'));
  const open = async (name: string) => {
    const s = await PgliteStore.open(
      args.memory ? 'memory://' : join(dir, name),
      0,
      silentLogger(),
      new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'pglite'),
    );
    await s.migrate();
    return s;
  };
  console.log(
    `PGlite ${args.memory ? 'memory://' : 'data directory'}; batches of ${SESSIONS} sessions x ${EVENTS} events; node ${process.version}; gc ${gc ? 'exposed' : 'not exposed (run with --expose-gc)'}`,
  );
  const rows: string[][] = [];
  const row = (
    run: string,
    batch: string,
    t: { ms: number; cpuMs: number },
    sessions: number,
    baseCpuRate: number,
    mem?: { heap: number; rss: number },
  ) => [
    run,
    batch,
    t.ms.toFixed(0),
    rate(sessions, t.ms),
    rate(sessions * EVENTS, t.ms),
    rate(sessions * EVENTS, t.cpuMs),
    `${((sessions * EVENTS * 1000) / t.cpuMs / baseCpuRate).toFixed(1)}x`,
    mem ? mb(mem.heap) : '',
    mem ? mb(mem.rss) : '',
  ];

  const calibration = await calibrate();
  const baseline = await open('baseline');
  const base = await time(() => naiveWrite(baseline, makeBatch(0, BASELINE_SESSIONS)));
  await baseline.close();
  const baseCpuRate = (BASELINE_SESSIONS * EVENTS * 1000) / base.cpuMs;
  rows.push(
    row(`baseline: one INSERT per row (${BASELINE_SESSIONS} sessions)`, '1', base, BASELINE_SESSIONS, baseCpuRate),
  );

  const store = await open('store');
  const memory: { rss: number; heap: number }[] = [];
  let total = { ms: 0, cpuMs: 0 };
  for (let b = 0; b < BATCHES; b++) {
    const batch = makeBatch(b);
    const t = await time(() => store.reports.writeSessions(batch, { key: 'bench', value: String(b) }));
    total = { ms: total.ms + t.ms, cpuMs: total.cpuMs + t.cpuMs };
    gc?.();
    const m = process.memoryUsage();
    memory.push({ rss: m.rss, heap: m.heapUsed });
    rows.push(
      row('writeSessions, new sessions', String(b + 1), t, SESSIONS, baseCpuRate, { heap: m.heapUsed, rss: m.rss }),
    );
  }
  rows.push(row(`writeSessions, all ${BATCHES} batches`, 'all', total, SESSIONS * BATCHES, baseCpuRate));
  const rewrite = await time(() => store.reports.writeSessions(makeBatch(BATCHES - 1)));
  rows.push(row('writeSessions, last batch again (update path)', '-', rewrite, SESSIONS, baseCpuRate));
  const counts = await store.reports.tableCounts();
  await store.close();
  rmSync(dir, { recursive: true, force: true });

  const head = [
    'run',
    'batch',
    'ms',
    'sessions/s',
    'events/s',
    'events/CPU-s',
    'vs baseline (CPU)',
    'heap MB',
    'rss MB',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
  const second = memory[1] ?? memory[0]!;
  const last = memory.at(-1)!;
  const allCpuRate = (SESSIONS * BATCHES * EVENTS * 1000) / total.cpuMs;
  console.log(
    `calibration: single-row INSERT into a plain table ${Math.round(calibration).toLocaleString('en-US')} rows/CPU-s ` +
      `(reference machine, idle: ~11,000 rows/s); scaled to it, writeSessions would reach ~${Math.round((allCpuRate * 11_000) / calibration).toLocaleString('en-US')} events/s`,
  );
  console.log(
    `rows after the run: session ${counts.session}, session_event ${counts.session_event}, session_event_data ${counts.session_event_data}`,
  );
  console.log(
    `memory after batch 2 -> batch ${BATCHES}: heap ${mb(second.heap)} -> ${mb(last.heap)} MB, rss ${mb(second.rss)} -> ${mb(last.rss)} MB; ` +
      `peak rss of the process ${mb(process.resourceUsage().maxRSS * 1024)} MB`,
  );
}

await main();
