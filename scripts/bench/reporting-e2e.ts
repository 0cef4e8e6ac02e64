/**
 * Benchmark: the reporting pipeline end to end, appliance simulator (HTTPS, OAuth) → report
 * client → worker → PGlite on disk, for N sessions, then for 10×N sessions over a 10× longer
 * window at the same density. The second run shows that memory does not grow with the window:
 * the worker holds one slice's listing and one batch at a time.
 *
 *   npx tsx scripts/bench/reporting-e2e.ts [--sessions 10000] [--factor 10] [--batch 100] [--slice-minutes 60] [--store pglite|discard]
 *
 * `--store discard` replaces PGlite by a store that counts and drops the sessions (cursors and
 * lock in memory): it isolates the bridge's own memory and speed (client, parser, worker) from
 * the database's, whose page cache grows with the data written.
 *
 * The simulator runs in this process; each pull runs in a child process (worker + PGlite), so
 * its peak RSS (getrusage maxrss) is the pipeline's alone; "over idle" subtracts the RSS of the
 * child with the store open and migrated (PGlite's WASM heap, ~800 MiB) before the pull. Prints a table with ratios against
 * the N-session run measured in the same invocation.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { systemClock } from '../../src/platform/clock.js';
import { parseConfigText } from '../../src/app/config-schema.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { Readiness } from '../../src/platform/readiness.js';
import { buildReportWorker, reportWorkerSettings } from '../../src/app/units/reporting-unit.js';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { ReportingSimulator } from '../../src/simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../../src/simulators/appliance/reporting/session-generator.js';
import type { SessionRecord } from '../../src/reporting/session-record.js';
import {
  MemoryFailbackStore,
  MemoryLeaderLeases,
  MemoryLeaderLock,
  MemoryStateStore,
} from '../../src/store/memory/store.js';
import { openStore } from '../../src/app/open-store.js';
import type { CursorUpdate, ReportStore } from '../../src/reporting/report-store-port.js';
import type { Store } from '../../src/store/store-ports.js';

const ACCOUNT = {
  clientId: 'bench-reporter',
  clientSecret: 'bench-reporting-secret-1',
  permissions: { reporting: true },
};
const SPACING_MS = 60_000;

interface ChildResult {
  sessions: number;
  seconds: number;
  maxRssMiB: number;
  /** RSS with the store open and migrated, before the pull: PGlite's own footprint. */
  idleRssMiB: number;
  peakHeapMiB: number;
  rows: number;
}

/** A Store that keeps cursors and the lock but drops sessions: the pipeline without a database. */
class DiscardStore implements Store {
  readonly state = new MemoryStateStore();
  readonly lock = new MemoryLeaderLock();
  readonly leadership = new MemoryLeaderLeases();
  readonly failback = new MemoryFailbackStore(this.leadership);
  #written = 0;
  readonly reports: ReportStore = {
    writeSessions: async (sessions: readonly SessionRecord[], cursor?: CursorUpdate) => {
      this.#written += sessions.length;
      if (cursor) await this.state.setCursor(cursor.key, cursor.value);
      return { inserted: sessions.length, updated: 0 };
    },
    readSession: async () => undefined,
    tableCounts: async () => ({ session: this.#written }),
    quarantine: async (entries) => [...entries],
    quarantined: async () => ({ total: 0, entries: [] }),
    noteMissingRecordings: async () => undefined,
    forgetMissingRecordings: async () => undefined,
    missingRecordings: async () => ({ total: 0, entries: [] }),
  };
  async migrate() {
    return 0;
  }
  async schemaVersion() {
    return 0;
  }
  async health() {
    return undefined;
  }
  async close() {}
}

/** Child: one pull of the whole window into a fresh store (on-disk PGlite, or discard), measured. */
async function child(args: {
  url: string;
  caFile: string;
  windowHours: number;
  batch: number;
  sliceMinutes: number;
  store: string;
}): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'reporting-bench-db-'));
  const config = parseConfigText(
    [
      'sites:',
      '  - name: bench',
      `    url: ${args.url}`,
      `    caFile: ${args.caFile}`,
      `    reporting: { clientId: ${ACCOUNT.clientId}, clientSecret: env:SECRET }`,
      '    timeouts: { connectMs: 5000, requestMs: 120000 }',
      `store: { kind: embedded, dataDir: ${JSON.stringify(dataDir)} }`,
      `reporting: { initialLookbackHours: ${args.windowHours}, overlapMinutes: 0, sliceMinutes: ${args.sliceMinutes}, batchSize: ${args.batch} }`,
    ].join('\n'),
    'bench.yaml',
    { env: { SECRET: ACCOUNT.clientSecret } },
  );
  const rt = {
    log: silentLogger(),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    readiness: new Readiness(),
    clock: systemClock,
  };
  const store: Store = args.store === 'discard' ? new DiscardStore() : await openStore(config.store, rt);
  await store.migrate();
  const idleRss = process.memoryUsage().rss;
  let peakHeap = 0;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
  const worker = buildReportWorker(reportWorkerSettings(config), { ...rt, instanceId: 'bench' }, store);
  const t0 = performance.now();
  const outcome = await worker.runNow();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  if (outcome.bench !== 'ok')
    throw new Error(`pull failed: ${JSON.stringify((await rt.readiness.report()).components)}`);
  const counts = await store.reports.tableCounts();
  await worker.stop(1000);
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
  const result: ChildResult = {
    sessions: counts.session ?? 0,
    seconds,
    rows: Object.values(counts).reduce((a, b) => a + b, 0),
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    idleRssMiB: idleRss / 1024 / 1024,
    peakHeapMiB: peakHeap / 1024 / 1024,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function runChild(args: object): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--child', JSON.stringify(args)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.once('exit', (code) => {
      const m = /RESULT (.*)/.exec(out);
      if (code === 0 && m) resolve(JSON.parse(m[1]!) as ChildResult);
      else reject(new Error(`bench child exited ${code}: ${out}`));
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '10000' },
      factor: { type: 'string', default: '10' },
      batch: { type: 'string', default: '100' },
      'slice-minutes': { type: 'string', default: '60' },
      store: { type: 'string', default: 'pglite' },
      child: { type: 'string' },
    },
  });
  if (values.child) return child(JSON.parse(values.child));
  const base = Number(values.sessions);
  const factor = Number(values.factor);
  const now = Date.now();
  const { writeCa } = await import('../../test/integration/appliance/harness.js');
  const rows: [string, number, number, ChildResult][] = [];
  for (const count of [base, base * factor]) {
    // Same density (one session a minute): 10× the sessions is 10× the window.
    const firstStartMs = now - count * SPACING_MS - 4 * 3_600_000;
    const generator = new SessionGenerator({
      seed: 1,
      count,
      hostName: '127.0.0.1',
      product: 'pra',
      firstStartMs,
      spacingMs: SPACING_MS,
    });
    const reporting = new ReportingSimulator({ generator, now: () => Date.now(), namespaces: 'real' });
    const appliance = new ApplianceSimulator({ accounts: [ACCOUNT], reporting: reporting.handle });
    await appliance.start();
    const windowHours = Math.ceil((now - firstStartMs) / 3_600_000) + 1;
    const r = await runChild({
      url: appliance.url,
      caFile: writeCa(appliance.caPem),
      windowHours,
      batch: Number(values.batch),
      sliceMinutes: Number(values['slice-minutes']),
      store: values.store,
    });
    await appliance.stop();
    rows.push([`${count} sessions`, windowHours, reporting.stats.requests, r]);
  }
  const [baseline] = rows;
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(
    `reporting-e2e: simulator (HTTPS, OAuth) → worker → ${values.store === 'discard' ? 'discarding store' : 'PGlite (disk)'}; batch ${values.batch}, slice ${values['slice-minutes']} min; ${cpus().length} cores, Node ${process.version}`,
  );
  console.log(
    `${'run'.padEnd(16)}${pad('window h', 9)}${pad('requests', 9)}${pad('sessions', 9)}${pad('rows', 9)}${pad('seconds', 9)}${pad('sess/s', 8)}${pad('x base', 7)}${pad('maxRSS MiB', 11)}${pad('x base', 7)}${pad('over idle', 10)}${pad('x base', 7)}${pad('peak heap MiB', 14)}${pad('x base', 7)}`,
  );
  for (const [name, hours, requests, r] of rows) {
    const rate = r.sessions / r.seconds;
    const b = baseline![3];
    console.log(
      `${name.padEnd(16)}${pad(hours, 9)}${pad(requests, 9)}${pad(r.sessions, 9)}${pad(r.rows, 9)}${pad(r.seconds.toFixed(1), 9)}${pad(rate.toFixed(0), 8)}${pad((rate / (b.sessions / b.seconds)).toFixed(2), 7)}${pad(r.maxRssMiB.toFixed(0), 11)}${pad((r.maxRssMiB / b.maxRssMiB).toFixed(2), 7)}${pad((r.maxRssMiB - r.idleRssMiB).toFixed(0), 10)}${pad(((r.maxRssMiB - r.idleRssMiB) / (b.maxRssMiB - b.idleRssMiB)).toFixed(2), 7)}${pad(r.peakHeapMiB.toFixed(0), 14)}${pad((r.peakHeapMiB / b.peakHeapMiB).toFixed(2), 7)}`,
    );
  }
}

await main();
