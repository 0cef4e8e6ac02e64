import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { buildReportWorker, reportWorkerSettings } from '../../../src/app/units/reporting-unit.js';
import { createRuntime } from '../../../src/app/runtime.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { FailoverPair } from '../../../src/simulators/appliance/failover-pair.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../../src/app/open-store.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { MemoryStore } from '../../../src/store/memory/store.js';
import type { Store } from '../../../src/store/store-ports.js';
import { ECM_ACCOUNT, sample, ScriptedHandler, startLink, until, writeCa } from '../appliance/harness.js';
import { capturedLogger, instantClock } from '../reporting/reporting-fixture.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const REPORTER = {
  clientId: 'rep-client',
  clientSecret: 'rep-secret-value-456',
  permissions: { ecm: false, reporting: true, command: 'read_only' as const },
};

/** A failover pair serving 60 sessions one minute apart from T0, sync lag 10 minutes. */
async function pairAt(clock: ManualClock, sharedAddress = false) {
  const generator = new SessionGenerator({
    seed: 7,
    count: 60,
    hostName: '127.0.0.1',
    product: 'pra',
    firstStartMs: T0,
    spacingMs: MIN,
  });
  const pair = new FailoverPair({
    accounts: [REPORTER],
    now: () => clock.now(),
    sessions: { generator, syncLagMs: 10 * MIN },
    sharedAddress,
  });
  await pair.start();
  return { pair, generator, caFile: writeCa(pair.caPem) };
}

/**
 * A reporting worker of its own (runtime, metrics, log) on `store` (a new one by default: pass
 * another worker's to play a restart or a second replica). `shared`: the site is configured by
 * the pair's shared address only, without `nodes`.
 */
function worker(
  pair: FailoverPair,
  caFile: string,
  clock: ManualClock,
  reporting: Record<string, unknown> = {},
  { store = new MemoryStore(), shared = false }: { store?: Store; shared?: boolean } = {},
) {
  const [n0, n1] = pair.nodes;
  const yaml = [
    'allowLiteralSecrets: true',
    'sites:',
    '  - name: corp-pra',
    ...(shared ? [`    url: ${pair.sharedUrl}`] : [`    url: ${n0.url}`, `    nodes: [${n0.node}, ${n1.node}]`]),
    `    caFile: ${caFile}`,
    `    reporting: { clientId: ${REPORTER.clientId}, clientSecret: ${REPORTER.clientSecret} }`,
    `reporting: ${JSON.stringify({ overlapMinutes: 0, sliceMinutes: 30, initialLookbackHours: 1, ...reporting })}`,
  ].join('\n');
  const config = parseConfigText(yaml, 'test.yaml', { env: {} });
  const { log, lines } = capturedLogger();
  const rt = createRuntime(log, {
    clock: instantClock(clock),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    readiness: new Readiness(),
  });
  const w = buildReportWorker(reportWorkerSettings(config), rt, store);
  return { w, store, rt, lines };
}

/** lsids of the sessions that started by `now`. */
function startedBy(g: SessionGenerator, now: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < g.count && g.startMs(i) <= now; i++) out.push(g.lsidOf(i));
  return out;
}

async function stored(store: Store, lsids: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const l of lsids) if (await store.reports.readSession('127.0.0.1', l)) out.push(l);
  return out;
}

describe('reporting follows the failover primary (real sockets)', () => {
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const s of stops.splice(0)) await s();
  });
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock(T0 + 20 * MIN);
  });

  it('a planned swap moves report pulls to the new primary with no session lost', async () => {
    const { pair, generator, caFile } = await pairAt(clock);
    stops.push(() => pair.stop());
    const { w, store, rt } = worker(pair, caFile, clock);
    await w.start();
    stops.push(() => w.stop(1000));
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    pair.swap();
    await clock.advance(T0 + 45 * MIN - clock.now());
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    const want = startedBy(generator, clock.now());
    expect(await stored(store, want)).toEqual(want);
    expect(pair.nodes[1].role).toBe('primary');
    expect(await sample(rt.metrics, 'ecm_bridge_site_primary_nodes{site="corp-pra"}')).toBe(1);
  });

  it('after an unplanned failover, re-reads since the last data sync once the pair syncs, storing what came back', async () => {
    const { pair, generator, caFile } = await pairAt(clock);
    stops.push(() => pair.stop());
    const { w, store, rt, lines } = worker(pair, caFile, clock);
    await w.start();
    stops.push(() => w.stop(1000));
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    await clock.advance(T0 + 30 * MIN - clock.now()); // sessions 21-30 start on node 0, synced only up to T0+20
    pair.failover();
    await clock.advance(T0 + 40 * MIN - clock.now());
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    const onlyOnNode0 = startedBy(generator, T0 + 30 * MIN).filter(
      (l) => !startedBy(generator, T0 + 20 * MIN - 1).includes(l),
    );
    expect(await stored(store, onlyOnNode0)).toEqual([]);
    pair.resumeSync(); // node 0 is back as backup: the pair syncs
    await clock.advance(T0 + 50 * MIN - clock.now());
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    const want = startedBy(generator, clock.now());
    expect(await stored(store, want)).toEqual(want);
    expect(await sample(rt.metrics, 'ecm_bridge_reporting_failback_rereads_total{site="corp-pra"}')).toBe(1);
    expect(lines.some((l) => l.includes('the primary changed'))).toBe(true);
  });

  it('after a planned swap, pulls before the pair syncs past the change read from their cursor only (issue 24, point 5)', async () => {
    const { pair, caFile } = await pairAt(clock);
    stops.push(() => pair.stop());
    const { w, lines } = worker(pair, caFile, clock);
    await w.start();
    stops.push(() => w.stop(1000));
    // The slices a run committed, by their start: a re-read starts at the data sync (00:20).
    const slicesFrom = (from: number) =>
      lines
        .slice(from)
        .filter((l) => l.includes('report slice committed'))
        .map((l) => /"window":"end_time ([^.]+)\./.exec(l)?.[1]);
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    pair.swap(); // synced at T0+20, then the roles change
    await clock.advance(T0 + 25 * MIN - clock.now());
    let mark = lines.length;
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    expect(slicesFrom(mark)[0]).toBe('2026-01-01T00:20:00Z'); // the change: re-read since the sync
    await clock.advance(T0 + 28 * MIN - clock.now()); // no data sync since (the lag keeps it at T0+20)
    mark = lines.length;
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    expect(slicesFrom(mark)[0]).toBe('2026-01-01T00:25:00Z'); // from the cursor only
  });

  it('without the re-read those sessions stay lost (the feature is what stores them)', async () => {
    const { pair, generator, caFile } = await pairAt(clock);
    stops.push(() => pair.stop());
    const { w, store } = worker(pair, caFile, clock, { failbackRereadMaxHours: 0 });
    await w.start();
    stops.push(() => w.stop(1000));
    await w.runNow();
    await clock.advance(T0 + 30 * MIN - clock.now());
    pair.failover();
    await clock.advance(T0 + 40 * MIN - clock.now());
    await w.runNow();
    pair.resumeSync();
    await clock.advance(T0 + 50 * MIN - clock.now());
    await w.runNow();
    const want = startedBy(generator, clock.now());
    expect((await stored(store, want)).length).toBeLessThan(want.length);
  });

  it('names "no primary" when both nodes are backup, and two primaries on the metric', async () => {
    const { pair, caFile } = await pairAt(clock);
    stops.push(() => pair.stop());
    const { w, rt } = worker(pair, caFile, clock);
    await w.start();
    stops.push(() => w.stop(1000));
    pair.setBoth('backup');
    expect(await w.runNow()).toEqual({ 'corp-pra': 'failed' });
    const ready = (await rt.readiness.report()).components.reporting;
    expect(ready?.reason).toMatch(/no primary: every node is backup/);
    expect(await sample(rt.metrics, 'ecm_bridge_site_primary_nodes{site="corp-pra"}')).toBe(0);
    pair.setBoth('primary');
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    expect(await sample(rt.metrics, 'ecm_bridge_site_primary_nodes{site="corp-pra"}')).toBe(2);
  });
});

const REREADS = 'ecm_bridge_reporting_failback_rereads_total{site="corp-pra"}';

describe('the failback re-read lives in the store and works without nodes (issue 24, point 5)', () => {
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const s of stops.splice(0)) await s();
  });
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock(T0 + 20 * MIN);
  });
  const ok = { 'corp-pra': 'ok' };
  /** Sessions 21-30 start on node 0 after its last data sync (T0+20): only on node 0 until the pair syncs. */
  const onlyOnNode0 = (g: SessionGenerator) =>
    startedBy(g, T0 + 30 * MIN).filter((l) => !startedBy(g, T0 + 20 * MIN - 1).includes(l));
  const at = (minutes: number) => clock.advance(T0 + minutes * MIN - clock.now());

  it('a restart (embedded store reopened from its data directory) between the failover and the sync still re-reads', async () => {
    const { pair, generator, caFile } = await pairAt(clock);
    stops.push(() => pair.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'failback-restart-'));
    const open = async () => {
      const s = await openStore(
        { kind: 'embedded', dataDir },
        { log: silentLogger(), metrics: createMetricsRegistry({ defaultMetrics: false }) },
      );
      await s.migrate();
      return s;
    };
    const first = worker(pair, caFile, clock, {}, { store: await open() });
    await first.w.start();
    expect(await first.w.runNow()).toEqual(ok);
    await at(30);
    pair.failover();
    await at(40);
    expect(await first.w.runNow()).toEqual(ok); // sees the change; the pair has not synced yet
    await first.w.stop(1000);
    await first.store.close();
    pair.resumeSync();
    await at(50);
    // The restarted process on the same data directory: nothing in its memory.
    const next = worker(pair, caFile, clock, {}, { store: await open() });
    await next.w.start();
    stops.push(async () => (await next.w.stop(1000), await next.store.close()));
    expect(await next.w.runNow()).toEqual(ok);
    const want = startedBy(generator, clock.now());
    expect(await stored(next.store, onlyOnNode0(generator))).toEqual(onlyOnNode0(generator));
    expect(await stored(next.store, want)).toEqual(want);
    expect(await sample(next.rt.metrics, REREADS)).toBe(1);
  });

  it('another replica taking the reporting lead between the failover and the sync continues the re-read', async () => {
    const { pair, generator, caFile } = await pairAt(clock);
    stops.push(() => pair.stop());
    const store = new MemoryStore(); // the database both replicas share
    const a = worker(pair, caFile, clock, {}, { store });
    const b = worker(pair, caFile, clock, {}, { store });
    for (const r of [a, b]) {
      await r.w.start();
      stops.push(() => r.w.stop(1000));
    }
    expect(await a.w.runNow()).toEqual(ok);
    await at(30);
    pair.failover();
    await at(40);
    expect(await a.w.runNow()).toEqual(ok); // replica a leads: it sees the change
    pair.resumeSync();
    await at(50);
    expect(await b.w.runNow()).toEqual(ok); // replica b leads now (a's term was released)
    expect(await stored(store, onlyOnNode0(generator))).toEqual(onlyOnNode0(generator));
    expect(await sample(b.rt.metrics, REREADS)).toBe(1);
    expect(await sample(a.rt.metrics, REREADS)).toBe(0);
  });

  it('a site without nodes (shared IP): a failover behind the one address is re-read after the sync; a backup behind it is named', async () => {
    const { pair, generator, caFile } = await pairAt(clock, true);
    stops.push(() => pair.stop());
    const { w, store, rt, lines } = worker(pair, caFile, clock, {}, { shared: true });
    await w.start();
    stops.push(() => w.stop(1000));
    expect(await w.runNow()).toEqual(ok);
    await at(30);
    pair.failover(); // the shared address moves to node 1
    await at(40);
    expect(await w.runNow()).toEqual(ok);
    expect(await stored(store, onlyOnNode0(generator))).toEqual([]);
    expect(lines.some((l) => l.includes('the primary changed'))).toBe(true);
    pair.resumeSync();
    await at(50);
    expect(await w.runNow()).toEqual(ok);
    const want = startedBy(generator, clock.now());
    expect(await stored(store, want)).toEqual(want);
    expect(await sample(rt.metrics, REREADS)).toBe(1);
    pair.setBoth('backup');
    expect(await w.runNow()).toEqual({ 'corp-pra': 'failed' });
    expect((await rt.readiness.report()).components.reporting?.reason).toMatch(
      /site corp-pra: the site URL reaches the failover backup/,
    );
  });

  it('a data sync that failed does not count: the re-read waits for a successful one', async () => {
    const { pair, generator, caFile } = await pairAt(clock);
    stops.push(() => pair.stop());
    const { w, store, rt, lines } = worker(pair, caFile, clock);
    await w.start();
    stops.push(() => w.stop(1000));
    expect(await w.runNow()).toEqual(ok);
    await at(30);
    pair.failover();
    await at(40);
    expect(await w.runNow()).toEqual(ok);
    await at(45);
    pair.failedSync(); // check_health: last_data_sync_time 00:45 (after the change), status Failed
    await at(47);
    expect(await w.runNow()).toEqual(ok);
    expect(await sample(rt.metrics, REREADS)).toBe(0);
    expect(lines.some((l) => l.includes('a data sync that did not succeed'))).toBe(true);
    const owed = async () =>
      ((await rt.readiness.report()).components.reporting?.details as { sites: Record<string, unknown> }).sites[
        'corp-pra'
      ] as { failbackReread: unknown };
    expect((await owed()).failbackReread).toEqual({
      from: '2026-01-01T00:20:00.000Z',
      waitingForSyncAfter: '2026-01-01T00:40:00.000Z',
    });
    pair.resumeSync();
    await at(50);
    expect(await w.runNow()).toEqual(ok);
    expect(await stored(store, onlyOnNode0(generator))).toEqual(onlyOnNode0(generator));
    expect(await sample(rt.metrics, REREADS)).toBe(1);
    expect((await owed()).failbackReread).toBeNull();
  });

  it('without Command API permission a site without nodes is pulled as before, with one warning; a re-read owed past the bound is given up', async () => {
    const { pair, caFile } = await pairAt(clock, true);
    stops.push(() => pair.stop());
    for (const n of pair.nodes) n.setPermissions(REPORTER.clientId, { command: 'deny' });
    const { w, store, lines } = worker(pair, caFile, clock, { failbackRereadMaxHours: 1 }, { shared: true });
    await w.start();
    stops.push(() => w.stop(1000));
    expect(await w.runNow()).toEqual(ok);
    await at(25);
    expect(await w.runNow()).toEqual(ok);
    expect(lines.filter((l) => l.includes('cannot ask the site for its failover role'))).toHaveLength(1);
    // With the permission back: a failover seen, then no successful sync for longer than the bound.
    for (const n of pair.nodes) n.setPermissions(REPORTER.clientId, { command: 'read_only' });
    expect(await w.runNow()).toEqual(ok);
    pair.failover();
    await at(30);
    expect(await w.runNow()).toEqual(ok);
    expect((await store.failback.get('corp-pra'))?.reread).toBeDefined();
    await at(30 + 61);
    expect(await w.runNow()).toEqual(ok);
    expect(lines.some((l) => l.includes('the failback re-read is given up'))).toBe(true);
    expect((await store.failback.get('corp-pra'))?.reread).toBeUndefined();
  });

  it('a planned swap noticed late re-reads its window once, not on every pull until the pair syncs past the change', async () => {
    const { pair, generator, caFile } = await pairAt(clock);
    stops.push(() => pair.stop());
    // Without in-progress sessions and overlap, a stored session is rewritten only by a re-read.
    const { w, rt, lines } = worker(pair, caFile, clock, { includeInProgress: false });
    await w.start();
    stops.push(() => w.stop(1000));
    expect(await w.runNow()).toEqual(ok);
    await at(21);
    pair.swap(); // synced at 00:21, then the roles change
    // The next pull comes at 00:35 (a longer schedule, or pulls that failed meanwhile): the new
    // primary's sync (lag 10 minutes) is 00:25 and moves on every minute, reaching 00:35 at 00:45.
    for (let m = 35; m <= 50; m++) {
      await at(m);
      expect(await w.runNow()).toEqual(ok);
    }
    // Rewritten: the sessions that ended in the re-read window (00:25 to 00:45), once.
    let window = 0;
    for (let i = 0; i < generator.count; i++)
      if (generator.endMs(i) >= T0 + 25 * MIN && generator.endMs(i) < T0 + 45 * MIN) window++;
    const rewritten = await sample(rt.metrics, 'ecm_bridge_reporting_sessions_total{site="corp-pra",result="updated"}');
    expect(rewritten).toBeGreaterThan(0);
    expect(rewritten).toBeLessThanOrEqual(window);
    expect(lines.filter((l) => l.includes('reporting: failback re-read:'))).toHaveLength(1);
    expect(await sample(rt.metrics, REREADS)).toBe(1);
  });
});

describe('the ECM channel names the failover state on /readyz', () => {
  it('"no primary" while both nodes are backup, then connects; two primaries are named', async () => {
    const pair = new FailoverPair({ accounts: [ECM_ACCOUNT], heartbeatMs: 100 });
    await pair.start();
    const [n0, n1] = pair.nodes;
    const l = await startLink(n0.url, writeCa(pair.caPem), new ScriptedHandler(), {
      extra: { nodes: [n0.node, n1.node] },
    });
    try {
      await until(() => l.link.status().state === 'connected', 'connected');
      pair.setBoth('backup');
      await until(
        async () =>
          /no primary: every node is backup/.test((await l.readiness.report()).components['site:sim']?.reason ?? ''),
        'no primary on /readyz',
      );
      expect(n1.upgrades.size).toBe(0); // a known backup is never asked for a channel
      pair.setBoth('primary');
      await until(
        async () => /two primaries/.test((await l.readiness.report()).components['site:sim']?.reason ?? ''),
        'two primaries on /readyz',
      );
      expect(await sample(l.metrics, 'ecm_bridge_site_primary_nodes{site="sim"}')).toBe(2);
    } finally {
      await l.link.stop(200);
      await pair.stop();
    }
  });
});
