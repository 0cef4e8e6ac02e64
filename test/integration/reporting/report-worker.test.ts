import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reportCursorKey, createReportWorker, type ReportWorker } from '../../../src/reporting/report-worker.js';
import type { SessionRecord } from '../../../src/reporting/session-record.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { MemoryStore } from '../../../src/store/memory/store.js';
import type { Store } from '../../../src/store/store-ports.js';
import type { Logger } from 'pino';
import { ServiceError } from '../../../src/platform/errors.js';
import { until } from '../../helpers/until.js';
import { reportWorkerSettings } from '../../../src/app/units/reporting-unit.js';
import {
  capturedLogger,
  HOST,
  listTokenSources,
  scenario,
  siteConfig,
  T0,
  type Scenario,
} from './reporting-fixture.js';

let open: Scenario[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

async function setup(count: number, opts: Parameters<typeof scenario>[1] = {}) {
  const s = await scenario(count, opts);
  open.push(s);
  return s;
}

function worker(
  s: Scenario,
  store: Store,
  reporting: Record<string, unknown> = {},
  log: Logger = silentLogger(),
  product: 'pra' | 'rs' = 'pra',
) {
  const config = siteConfig(s.url, s.caFile, reporting, product);
  const readiness = new Readiness();
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const w = createReportWorker(reportWorkerSettings(config), {
    store,
    sources: listTokenSources({ clock: s.clock, log, metrics }),
    log,
    metrics,
    readiness,
    clock: s.clock,
  });
  return { w, config, readiness, metrics };
}

/** Every session the simulator has by its "now", as the generator made it. */
function expected(s: Scenario): SessionRecord[] {
  const out: SessionRecord[] = [];
  for (let i = 0; i < s.generator.count && s.generator.startMs(i) <= s.clock.now(); i++)
    out.push(s.generator.session(i, s.clock.now()).record);
  return out;
}

async function assertStoreMatches(s: Scenario, store: Store) {
  const want = expected(s);
  const counts = await store.reports.tableCounts();
  expect(counts.session).toBe(want.length);
  expect(counts.session_event).toBe(want.reduce((n, r) => n + r.events.length, 0));
  expect(counts.customer).toBe(want.reduce((n, r) => n + r.customers.length, 0));
  expect(counts.representative).toBe(want.reduce((n, r) => n + r.representatives.length, 0));
  expect(counts.custom_attribute).toBe(want.reduce((n, r) => n + r.customAttributes.length, 0));
  for (const r of want) expect(await store.reports.readSession(r.hostName, r.lsid)).toEqual(r);
}

describe('reporting worker against the simulator (real sockets)', () => {
  it('pulls every session exactly, one request per connection, and reports lag and status', async () => {
    const s = await setup(600);
    const store = new MemoryStore();
    const { w, readiness, metrics, config } = worker(s, store);
    await w.start();
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    await assertStoreMatches(s, store);
    // Each session fetched once, even those listed by two slices (started in one, ended in the next).
    expect(s.sim.stats.sessionsServed).toBe(600);
    expect(s.sim.stats.withoutConnectionClose).toBe(0);
    const cursor = await store.state.getCursor(reportCursorKey(config.sites[0]!));
    expect(Date.parse(cursor!)).toBe(Math.floor(s.clock.now() / 1000) * 1000);
    const ready = await readiness.report();
    expect(ready.components.reporting).toMatchObject({
      ready: true,
      details: { sites: { 'corp-pra': { lagSeconds: 0, lastError: null } } },
    });
    await s.clock.advance(120_000);
    expect(await metrics.metrics()).toMatch(/ecm_bridge_reporting_lag_seconds\{site="corp-pra"\} 120/);
    expect(await metrics.metrics()).toMatch(
      /ecm_bridge_reporting_sessions_total\{site="corp-pra",result="inserted"\} 600/,
    );
    await w.stop(1000);
  });

  it('after a reload the lag gauge reports only the current worker, not the stopped one', async () => {
    const s = await setup(60);
    const config = siteConfig(s.url, s.caFile);
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const make = (store: Store) =>
      createReportWorker(reportWorkerSettings(config), {
        store,
        sources: listTokenSources({ clock: s.clock, log: silentLogger(), metrics }),
        log: silentLogger(),
        metrics,
        readiness: new Readiness(),
        clock: s.clock,
      });
    const lagLines = async () =>
      (await metrics.metrics()).split('\n').filter((l) => l.startsWith('ecm_bridge_reporting_lag_seconds{'));
    const w1 = make(new MemoryStore());
    await w1.start();
    expect(await w1.runNow()).toEqual({ 'corp-pra': 'ok' });
    await s.clock.advance(600_000);
    expect(await lagLines()).toEqual(['ecm_bridge_reporting_lag_seconds{site="corp-pra"} 600']);
    await w1.stop(1000);
    // The stopped worker's frozen cursor is gone from the gauge.
    expect(await lagLines()).toEqual([]);
    // The replacement has no cursor yet (empty store): it lags from its initial lookback, not w1's value.
    const w2 = make(new MemoryStore());
    await w2.start();
    expect(await lagLines()).toEqual([
      `ecm_bridge_reporting_lag_seconds{site="corp-pra"} ${config.reporting.initialLookbackHours * 3600}`,
    ]);
    expect(await w2.runNow()).toEqual({ 'corp-pra': 'ok' });
    await s.clock.advance(30_000);
    expect(await lagLines()).toEqual(['ecm_bridge_reporting_lag_seconds{site="corp-pra"} 30']);
    await w2.stop(1000);
  });

  describe('stop() with a batch write in flight', () => {
    /** A store whose writeSessions blocks on a gate; `finished` counts writes that returned. */
    function blockingStore() {
      const store = new MemoryStore();
      const write = store.reports.writeSessions.bind(store.reports);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const writing = new Promise<void>((r) => (entered = r));
      const state = { finished: 0 };
      store.reports.writeSessions = async (...args: Parameters<typeof write>) => {
        entered();
        await gate;
        const r = await write(...args);
        state.finished++;
        return r;
      };
      return { store, release, writing, state };
    }

    it('waits past the grace period for the aborted run to finish its batch before returning', async () => {
      const s = await setup(60);
      const b = blockingStore();
      const { log, lines } = capturedLogger('info');
      const { w } = worker(s, b.store, {}, log);
      await w.start();
      const run = w.runNow();
      await b.writing;
      let stopped = false;
      // A grace period long enough that the released write surely finishes within the second one.
      const stopping = w.stop(1000).then(() => (stopped = true));
      // The grace period ends with the write still blocked: stop() says so and keeps waiting.
      await until(() => lines.join('').includes('run still in flight after the grace period'), 'first grace period');
      expect(stopped).toBe(false);
      b.release();
      await stopping;
      // Before the fix stop() returned after the grace period with the write still blocked (the store closed under it).
      expect(b.state.finished).toBeGreaterThan(0);
      expect(lines.join('')).not.toMatch(/twice the grace period/);
      expect(await run).toEqual({ 'corp-pra': 'stopped' });
    });

    it('bounds the second wait too and logs when the run is still writing', async () => {
      const s = await setup(60);
      const b = blockingStore();
      const { log, lines } = capturedLogger('info');
      const { w } = worker(s, b.store, {}, log);
      await w.start();
      const run = w.runNow();
      await b.writing;
      await w.stop(100);
      // stop() returned with the write still blocked, after both grace periods ran out (each logged).
      expect(b.state.finished).toBe(0);
      expect(lines.join('')).toMatch(/run still in flight after the grace period/);
      expect(lines.join('')).toMatch(/run still in flight after twice the grace period/);
      b.release();
      await run;
    });
  });

  it('updates in-progress sessions when they close, without duplicating them', async () => {
    const s = await setup(300, { at: Date.UTC(2026, 0, 1, 4) });
    const store = new MemoryStore();
    const { w } = worker(s, store);
    await w.runNow();
    const open1 = [...store.reports.sessions.values()].filter((r) => r.endTime === null);
    expect(open1.length).toBeGreaterThan(5);
    await s.clock.advance(6 * 3_600_000);
    await w.runNow();
    await assertStoreMatches(s, store);
    for (const r of open1) expect((await store.reports.readSession(r.hostName, r.lsid))?.endTime).not.toBeNull();
  });

  it('a run stopped mid-way keeps committed slices; the next worker finishes with no gaps and no duplicates', async () => {
    let w1: ReportWorker | undefined;
    let stopped: Promise<void> | undefined;
    let sessionCalls = 0;
    const s = await setup(500, {
      fault: (r) => {
        if (r.report === 'AccessSession' && ++sessionCalls === 6) stopped = w1!.stop(5000);
        return undefined;
      },
    });
    const store = new MemoryStore();
    const first = worker(s, store, { sliceMinutes: 120 });
    w1 = first.w;
    await w1.start();
    expect(await w1.runNow()).toEqual({ 'corp-pra': 'stopped' });
    await stopped;
    const key = reportCursorKey(first.config.sites[0]!);
    const cursorAfterKill = await store.state.getCursor(key);
    expect(cursorAfterKill).toBeDefined();
    expect(Date.parse(cursorAfterKill!)).toBeLessThan(s.clock.now() - 3_600_000);
    expect(store.reports.sessions.size).toBeLessThan(500);
    const { w: w2 } = worker(s, store, { sliceMinutes: 120 });
    expect(await w2.runNow()).toEqual({ 'corp-pra': 'ok' });
    await assertStoreMatches(s, store);
  });

  it('malformed XML fails the run with site and window in the log, and the cursor does not move', async () => {
    let broken = true;
    const s = await setup(200, { fault: (r) => (broken && r.report === 'AccessSession' ? 'malformed' : undefined) });
    const store = new MemoryStore();
    const { log, lines } = capturedLogger();
    const { w, readiness, config } = worker(s, store, {}, log);
    // The first slice after the cursor (minus the overlap) holds sessions: its batch is the one that breaks.
    await store.state.setCursor(reportCursorKey(config.sites[0]!), new Date(T0 - 10 * 60_000).toISOString());
    const before = await store.state.getCursor(reportCursorKey(config.sites[0]!));
    await w.start();
    expect(await w.runNow()).toEqual({ 'corp-pra': 'failed' });
    expect(await store.state.getCursor(reportCursorKey(config.sites[0]!))).toBe(before);
    expect(store.reports.sessions.size).toBe(0);
    const failure = lines.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith('reporting: pull failed'));
    expect(failure).toMatchObject({ level: 'error', site: 'corp-pra', code: 'report.xml_invalid' });
    expect(failure.window).toBe('100 lsids of end_time 2025-12-31T23:35:00Z..2026-01-01T03:50:00Z'); // cursor - 15 min overlap .. now
    const status = (await readiness.report()).components.reporting!;
    expect(status.ready).toBe(false);
    expect(status.reason).toMatch(
      /site corp-pra: \[report.xml_invalid\] AccessSession report from site corp-pra \(\d+ lsids of end_time/,
    );
    broken = false;
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    expect((await readiness.report()).components.reporting!.ready).toBe(true);
    await assertStoreMatches(s, store);
    await w.stop(1000);
  });

  it('one bad session never holds the site: quarantined, logged and counted once; the rest stored, the cursor moves', async () => {
    const BAD_LSID = 7;
    const NO_START = 12;
    const s = await setup(60, {
      rewrite: (i, element) => {
        if (i === BAD_LSID) return element.replace(/ lsid="[^"]*"/, ' lsid="../../etc/passwd"');
        // Only the full session loses its start time: its listing entry is fine, so it is asked for.
        if (i === NO_START) return element.replace(/<(\w+:)?start_time\b[^>]*>[^<]*<\/(\w+:)?start_time>/, '');
        return element;
      },
    });
    const store = new MemoryStore();
    const { log, lines } = capturedLogger();
    const { w, readiness, metrics, config } = worker(s, store, {}, log);
    await w.start();
    const rejected = async () =>
      Object.fromEntries(
        (await metrics.getSingleMetric('ecm_bridge_reporting_sessions_rejected_total')!.get()).values.map((v) => [
          v.labels.reason,
          v.value,
        ]),
      );
    // Present from start, at zero, for every reason.
    expect(await rejected()).toEqual({ lsid_missing: 0, lsid_invalid: 0, field_invalid: 0, content_invalid: 0 });

    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    const good = expected(s).filter((_, i) => i !== BAD_LSID && i !== NO_START);
    expect(store.reports.sessions.size).toBe(good.length);
    for (const r of good) expect(await store.reports.readSession(r.hostName, r.lsid)).toEqual(r);
    expect(await store.reports.readSession(HOST, s.generator.lsidOf(NO_START))).toBeUndefined();
    const cursor = await store.state.getCursor(reportCursorKey(config.sites[0]!));
    expect(Date.parse(cursor!)).toBe(Math.floor(s.clock.now() / 1000) * 1000);
    expect((await readiness.report()).components.reporting!.ready).toBe(true);

    const q = await store.reports.quarantined(10);
    expect(q.total).toBe(2);
    expect(q.entries.map((e) => [e.site, e.lsid, e.reason]).sort()).toEqual(
      [
        ['corp-pra', '../../etc/passwd', 'lsid_invalid'],
        ['corp-pra', s.generator.lsidOf(NO_START), 'field_invalid'],
      ].sort(),
    );
    expect(q.entries.find((e) => e.reason === 'field_invalid')!.detail).toMatch(/start_time is missing/);
    expect(await rejected()).toMatchObject({ lsid_invalid: 1, field_invalid: 1 });

    // The next pull re-reads the overlap: the same sessions are refused again, neither logged nor counted twice.
    s.clock.advance(5 * 60_000);
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    expect(await rejected()).toMatchObject({ lsid_invalid: 1, field_invalid: 1 });
    expect((await store.reports.quarantined(10)).total).toBe(2);
    const warned = lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg.startsWith('reporting: a session failed validation'));
    expect(warned.map((l) => l.reason).sort()).toEqual(['field_invalid', 'lsid_invalid']);
    await w.stop(1000);
  });

  it('stands by while another replica holds the reporting leadership', async () => {
    const s = await setup(50);
    const store = new MemoryStore();
    const held = await store.leadership.take(
      'ecm-bridge.reporting',
      'replica-b',
      new Date(s.clock.now()),
      new Date(s.clock.now() + 30_000),
    );
    const { w, readiness } = worker(s, store);
    await w.start();
    expect(await w.runNow()).toEqual({ 'corp-pra': 'standby' });
    expect(s.sim.stats.requests).toBe(0);
    expect((await readiness.report()).components.reporting).toMatchObject({
      ready: true,
      reason: expect.stringMatching(/standby/),
    });
    await store.leadership.release(held!);
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    await w.stop(1000);
  });

  it("a standby reports the lag of the committed cursor (the leader's progress), not of its own last pull (issue 29)", async () => {
    const s = await setup(50);
    const store = new MemoryStore();
    const held = await store.leadership.take(
      'ecm-bridge.reporting',
      'replica-b',
      new Date(s.clock.now()),
      new Date(s.clock.now() + 30_000),
    );
    const { w, readiness, config } = worker(s, store);
    await w.start(); // nothing committed yet: the lag runs from the initial lookback (24 h)
    const key = reportCursorKey({ name: 'corp-pra', product: config.sites[0]!.product });
    await store.state.setCursor(key, new Date(s.clock.now() - 30_000).toISOString()); // the leader commits
    expect(await w.runNow()).toEqual({ 'corp-pra': 'standby' });
    const details = (await readiness.report()).components.reporting!.details as {
      sites: Record<string, { lagSeconds: number }>;
    };
    expect(details.sites['corp-pra']!.lagSeconds).toBe(30);
    await store.leadership.release(held!);
    await w.stop(1000);
  });

  it('a leader that stalled past its lease and lost it to another replica writes nothing and steps down, saying so (issue 29)', async () => {
    const s = await setup(50);
    const store = new MemoryStore();
    // Right after this worker takes the leadership, it stalls (no renewal, its clock frozen) while
    // another replica, 31 s later by its own clock, finds the 30 s lease lapsed and takes it.
    const take = store.leadership.take.bind(store.leadership);
    store.leadership.take = async (name, holder, now, until) => {
      const term = await take(name, holder, now, until);
      const later = now.getTime() + 31_000;
      await take(name, 'replica-b', new Date(later), new Date(later + 30_000));
      return term;
    };
    const { log, lines } = capturedLogger();
    const { w, readiness } = worker(s, store, {}, log);
    await w.start();
    expect(await w.runNow()).toEqual({ 'corp-pra': 'standby' });
    expect(store.reports.sessions.size).toBe(0);
    expect(store.state.cursors.size).toBe(0);
    expect(lines.some((l) => /leadership passed to another replica.*stepping down/.test(l))).toBe(true);
    expect((await readiness.report()).components.reporting).toMatchObject({
      ready: true,
      reason: 'standby: another replica holds the reporting leadership',
    });
    expect(store.leadership.rows.get('ecm-bridge.reporting')!.holder).toBe('replica-b');
    await w.stop(1000);
  });

  it('single flight: a second trigger during a run joins it instead of starting another', async () => {
    const s = await setup(100);
    const store = new MemoryStore();
    const { w } = worker(s, store);
    const [a, b] = [w.runNow(), w.runNow()];
    expect(a).toBe(b);
    await a;
    expect(s.sim.stats.byReport.AccessSessionListing).toBe(2 * (24 / 6)); // one run: two listings per 6-hour slice of the 24-hour lookback
  });

  it("with recordings enabled, downloads each closed session's recording once, to DIR/<site>/<lsid>.<ext>", async () => {
    const s = await setup(120);
    const dir = mkdtempSync(join(tmpdir(), 'recordings-'));
    const store = new MemoryStore();
    const { w } = worker(s, store, { recordings: { enabled: true, directory: dir } });
    await w.runNow();
    const now = s.clock.now();
    const recorded = [...Array(120).keys()].filter((i) => s.generator.hasRecording(i) && s.generator.isClosed(i, now));
    expect(recorded.length).toBeGreaterThan(10);
    expect(readdirSync(join(dir, 'corp-pra')).sort()).toEqual(
      recorded.map((i) => `${s.generator.lsidOf(i)}.flv`).sort(),
    );
    for (const i of recorded.slice(0, 5))
      expect(readFileSync(join(dir, 'corp-pra', `${s.generator.lsidOf(i)}.flv`))).toEqual(s.generator.recording(i));
    const downloads = s.sim.stats.byReport.AccessSessionRecording;
    expect(downloads).toBe(recorded.length);
    await s.clock.advance(60_000);
    await w.runNow();
    // The overlap re-reads recorded sessions; their files exist, so nothing is fetched again.
    expect(s.sim.stats.byReport.AccessSessionRecording).toBe(downloads);
  });

  it('a recording that never ends is abandoned at its deadline: counted as failed, its session still stored; /readyz shows the overdue pull meanwhile', async () => {
    let trickling = 0;
    const s = await setup(60, {
      // The first recording asked for trickles a byte every 100 ms forever.
      fault: (r) => (r.report === 'AccessSessionRecording' && trickling++ === 0 ? 'trickle' : undefined),
    });
    const dir = mkdtempSync(join(tmpdir(), 'recordings-'));
    const store = new MemoryStore();
    const { w, readiness, metrics } = worker(s, store, {
      recordings: { enabled: true, directory: dir, timeoutSeconds: 1 },
    });
    await w.start();
    const run = w.runNow();
    // The schedule's next trigger arrives while the pull still runs: it joins, and /readyz says so.
    expect(w.runNow()).toBe(run);
    expect((await readiness.report()).components.reporting).toMatchObject({
      ready: false,
      reason: expect.stringContaining('has not finished and the next one is due'),
    });
    expect(await run).toEqual({ 'corp-pra': 'ok' });
    expect((await readiness.report()).components.reporting?.ready).toBe(true);
    await assertStoreMatches(s, store);
    const now = s.clock.now();
    const recorded = [...Array(60).keys()].filter((i) => s.generator.hasRecording(i) && s.generator.isClosed(i, now));
    expect(readdirSync(join(dir, 'corp-pra'))).toHaveLength(recorded.length - 1);
    const text = await metrics.metrics();
    expect(text).toContain('ecm_bridge_reporting_recordings_total{site="corp-pra",outcome="failed"} 1');
    expect(text).toContain(
      `ecm_bridge_reporting_recordings_total{site="corp-pra",outcome="saved"} ${recorded.length - 1}`,
    );
    await w.stop(1000);
  });

  it('overlap re-reads catch sessions whose end is recorded late; with no overlap they are missed', async () => {
    const missing: Record<number, number> = {};
    for (const overlapMinutes of [15, 0]) {
      const s = await setup(240, { lateClose: { every: 5, delayMs: 10 * 60_000 }, at: T0 + 60 * 60_000 });
      const store = new MemoryStore();
      const { w } = worker(s, store, {
        overlapMinutes,
        includeInProgress: false,
        sliceMinutes: 60,
        initialLookbackHours: 2,
      });
      for (; s.clock.now() <= T0 + 300 * 60_000; await s.clock.advance(5 * 60_000))
        expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
      const due = [...Array(240).keys()].filter((i) => s.generator.closedAtMs(i) <= s.clock.now() - 30 * 60_000);
      const absent = due.filter((i) => !store.reports.sessions.has(`${HOST}\u0000${s.generator.lsidOf(i)}`));
      missing[overlapMinutes] = absent.length;
      for (const i of due.filter((k) => !absent.includes(k)).slice(0, 40)) {
        expect(await store.reports.readSession(HOST, s.generator.lsidOf(i))).toEqual(
          s.generator.session(i, s.clock.now()).record,
        );
      }
    }
    expect(missing[15]).toBe(0);
    expect(missing[0]).toBeGreaterThan(0);
  });

  it('a database that is down fails the run (status, log), never an unhandled rejection', async () => {
    const s = await setup(20);
    const store = new MemoryStore();
    store.leadership.take = async () => {
      throw new ServiceError('store.unavailable', 'database unreachable (ECONNREFUSED)');
    };
    const { w, readiness, metrics, config } = worker(s, store);
    await w.start();
    // Every series of the site exists before its first pull; lag counts from the initial lookback.
    const lookback = config.reporting.initialLookbackHours * 3600;
    const before = await metrics.metrics();
    expect(before).toContain(`ecm_bridge_reporting_lag_seconds{site="corp-pra"} ${lookback}`);
    expect(before).toContain('ecm_bridge_reporting_runs_total{site="corp-pra",outcome="ok"} 0');
    expect(before).toContain('ecm_bridge_reporting_sessions_total{site="corp-pra",result="inserted"} 0');
    expect(before).toContain('ecm_bridge_reporting_last_success_timestamp_seconds{site="corp-pra"} 0');
    expect(before).toContain('ecm_bridge_reporting_sessions_vanished_total{site="corp-pra"} 0');
    expect(await w.runNow()).toEqual({ 'corp-pra': 'failed' });
    const report = await readiness.report();
    expect(report.components.reporting).toMatchObject({
      ready: false,
      critical: false,
      reason: 'site corp-pra: [store.unavailable] database unreachable (ECONNREFUSED)',
    });
    // Reporting is shown, not critical: the credential path decides readiness.
    expect(report.ready).toBe(true);
    await s.clock.advance(60_000);
    expect(await metrics.metrics()).toContain(`ecm_bridge_reporting_lag_seconds{site="corp-pra"} ${lookback + 60}`);
    await w.stop(1000);
  });

  it('an RS site pulls the Support* reports, with public sites and teams, under its own cursor key', async () => {
    const s = await setup(150, { product: 'rs' });
    const store = new MemoryStore();
    const { w, config } = worker(s, store, {}, silentLogger(), 'rs');
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    await assertStoreMatches(s, store);
    expect(Object.keys(s.sim.stats.byReport).sort()).toEqual(['SupportSession', 'SupportSessionListing']);
    expect(reportCursorKey(config.sites[0]!)).toBe('reporting/corp-pra/SupportSession');
    expect(
      [...store.reports.sessions.values()].some((r) => r.teams.length > 0 && r.publicSiteName === 'Support Portal'),
    ).toBe(true);
  });
});
