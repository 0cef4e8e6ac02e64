/**
 * Jump item search end to end, as a console sees it: the appliance simulator sends `jump.search`
 * through the ECM channel (SiteLink) → wire mapper → broker → Password Safe adapter answering
 * from its warm catalogue, over a generated estate (100,000 systems by default). The baseline is
 * a bare `ws` ECM answering the very same items inline through the same simulator, in the same
 * run: what the channel alone costs. Runs alternate baseline and bridge.
 *
 *   node --expose-gc --import tsx scripts/bench/jump-search-e2e.ts [--systems 100000] [--requests 2000] [--concurrency 10] [--runs 3]
 *
 * (`--expose-gc` adds the heap still in use after a full GC at the end of each phase.)
 *
 * Then "through a refresh": the adapter's clock is moved past the catalogue's TTL (within its
 * stale window), so the next search is answered from the old lists while one background refresh
 * re-reads and re-indexes the whole catalogue; searches keep running until one is answered from
 * the refreshed lists (the adapter counts a cache hit again) and the vault has seen no call for
 * two polls of 0.5 s: the refresh has ended, index and all, not merely its vault calls. The
 * "refresh s" column includes that second of polling. Reported per run: p50/p99/max of those searches, the longest
 * event-loop stall, the refresh's duration and the process's RSS peak (sampled every 5 ms)
 * against its RSS just before and against the idle RSS (warm catalogue, before the first refresh).
 * Each refresh is preceded by its baseline: the same searches as long with no refresh, so the
 * latencies a loaded machine adds by itself are in the same table.
 *
 * The Password Safe simulator runs in a child process; it is called only by the cold search and
 * the refreshes.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { systemClock, type Clock } from '../../src/platform/clock.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { MemoryStateStore } from '../../src/store/memory/store.js';
import { benchBroker } from './bench-broker.js';
import { benchVault, startBenchVaultSimulator } from './bench-vault.js';
import { load1, machineLine, median } from './bench-stats.js';
import { bareEcm, benchSiteLink, measure, until, type Row } from './ecm-bench.js';

const { values } = parseArgs({
  options: {
    systems: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
  },
});
const SYSTEMS = Number(values.systems);
const N = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const RUNS = Number(values.runs);

const perms = { ecm: true, reporting: false, command: 'read_only' as const };
const rawAccount = { clientId: 'raw', clientSecret: 'raw-secret-value', permissions: perms, ecmGroup: 'Raw' };
const linkAccount = { clientId: 'bench', clientSecret: 'bench-secret-value', permissions: perms, ecmGroup: 'Default' };
// CORP\u1-1 maps to u1-1@corp.example.com, granted WG01 (one system in 20).
const context = {
  user: { username: 'CORP\\u1-1', securityProvider: { id: 3, name: 'Corp AD', kind: 'ldap' } },
  session: { lsid: 'bench-session' },
};
const params = { query: 'srv00', limit: 50 };

const ps = await startBenchVaultSimulator(SYSTEMS, SYSTEMS * 3, 0);
/** Moved forward to expire the adapter's discovery cache (TTL 3,600 s, stale for 300 s more). */
let skewMs = 0;
const clock: Clock = { now: () => Date.now() + skewMs, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
const vaultMetrics = createMetricsRegistry({ defaultMetrics: false });
const vault = benchVault(ps, 120_000, {}, clock, vaultMetrics);
/** Discovery cache hits so far: the first after the clock moved is a search served from refreshed lists. */
const cacheHits = async () =>
  (await vaultMetrics.getSingleMetric('ecm_bridge_vault_discovery_cache_total')?.get())?.values.find(
    (v) => v.labels.result === 'hit',
  )?.value ?? 0;
const metrics = createMetricsRegistry({ defaultMetrics: false });
const handler = benchBroker({ vault, state: new MemoryStateStore(), metrics, clock: systemClock });
const sim = new ApplianceSimulator({ accounts: [rawAccount, linkAccount], heartbeatMs: 15_000, maxRequestMs: 120_000 });
await sim.start();
const { link } = await benchSiteLink(sim, linkAccount, handler, metrics);

// The cold search fills the catalogue; the baseline ECM then answers with the bridge's answer.
const first = await sim.hub.request('Default', 'jump.search', context as never, params);
if (first.answeredBy !== 'ecm' || !('result' in first)) throw new Error(`warm-up failed: ${JSON.stringify(first)}`);
const items = (first.result as { items: unknown[] }).items.length;
const raw = await bareEcm(sim, rawAccount.clientId, rawAccount.clientSecret, first.result);
await until(() => sim.hub.connections().length === 2);

// One unmeasured round of each first (JIT warm-up).
await measure(sim, 'Raw', CONCURRENCY, N, 'jump.search', context, params);
await measure(sim, 'Default', CONCURRENCY, N, 'jump.search', context, params);
const base: Row[] = [];
const mine: Row[] = [];
const loads: string[] = [];
for (let r = 0; r < RUNS; r++) {
  loads.push(load1());
  base.push(await measure(sim, 'Raw', CONCURRENCY, N, 'jump.search', context, params));
  mine.push(await measure(sim, 'Default', CONCURRENCY, N, 'jump.search', context, params));
}

interface Phase {
  lat: number[];
  beforeMiB: number;
  peakMiB: number;
  calls: number;
  /** How long the refresh took; undefined when it did not end within the bound. */
  refreshMs: number | undefined;
  stallMs: number;
  /** Heap in use after a full GC at the end of the phase (with --expose-gc): what is still held. */
  heapAfterMiB: number | undefined;
  load: string;
}

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Searches at CONCURRENCY, either while one refresh of the expired lists runs (`refresh`) or, the
 * baseline, for `ms` with nothing else going on (`steady`): latencies, longest loop stall, RSS.
 */
async function searching(mode: { refresh: true } | { steadyMs: number }): Promise<Phase> {
  const load = load1();
  await ps.command('trace');
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const hits = await cacheHits();
  const t0 = performance.now();
  if ('refresh' in mode) skewMs += 3_610_000;
  const lat: number[] = [];
  let stop = false;
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (!stop) {
      const t = performance.now();
      const out = await sim.hub.request('Default', 'jump.search', context as never, params);
      if (out.answeredBy !== 'ecm') throw new Error(`not answered by the ECM: ${JSON.stringify(out)}`);
      lat.push(performance.now() - t);
    }
  });
  // Ended when a search was served from refreshed lists and the vault has seen no new call for
  // two polls (a tree that serves refreshed user lists before the catalogue's index is rebuilt
  // still has that work ahead when its vault calls end). Bounded: a refresh that does not end
  // within two minutes ends the run, reported as "never".
  let refreshMs: number | undefined;
  if ('refresh' in mode)
    for (let polls = 0, still = 0, calls = 0, served = false; refreshMs === undefined && polls < 240; polls++) {
      await new Promise((r) => setTimeout(r, 500));
      const now = Number((await ps.command('rounds')).split(' ')[1]);
      still = now > 0 && now === calls ? still + 1 : 0;
      calls = now;
      served ||= (await cacheHits()) > hits;
      if (served && still >= 2) refreshMs = performance.now() - t0;
    }
  else await new Promise((r) => setTimeout(r, mode.steadyMs));
  stop = true;
  await Promise.all(workers);
  loop.disable();
  clearInterval(sampler);
  const calls = Number((await ps.command('rounds')).split(' ')[1]);
  gc?.();
  return {
    lat: lat.sort((a, b) => a - b),
    beforeMiB: before / 2 ** 20,
    peakMiB: peak / 2 ** 20,
    calls,
    refreshMs,
    stallMs: loop.max / 1e6,
    heapAfterMiB: gc ? process.memoryUsage().heapUsed / 2 ** 20 : undefined,
    load,
  };
}
const idleMiB = process.memoryUsage.rss() / 2 ** 20;
// Alternating: a steady run as long as the previous refresh (5 s before the first), then a refresh.
const phases: { name: string; p: Phase }[] = [];
for (let r = 0, lastMs = 5000; r < RUNS; r++) {
  phases.push({ name: `${r + 1} steady (baseline)`, p: await searching({ steadyMs: lastMs }) });
  const p = await searching({ refresh: true });
  phases.push({ name: `${r + 1} through a refresh`, p });
  lastMs = p.refreshMs ?? lastMs;
}

raw.close();
await link.stop(1000);
await sim.stop();
await vault.close();
ps.stop();

const fmt = (rows: Row[], k: keyof Row, d: number) => rows.map((x) => x[k].toFixed(d)).join(' / ');
const med = (rows: Row[], k: keyof Row) => median(rows.map((x) => x[k]));
console.log(
  `Jump search end to end: ${SYSTEMS} systems (the user sees ${SYSTEMS / 20}), query "${params.query}" limit ${params.limit} ` +
    `(${items} items), ${N} requests per run at concurrency ${CONCURRENCY}, ${RUNS} alternating runs`,
);
console.log(machineLine());
console.log(
  '| path | req/s median (runs) | vs bare ECM | p50 ms (runs) | p99 ms (runs) | CPU µs/request (runs) | load |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const line = (name: string, rows: Row[], ratio: string) =>
  console.log(
    `| ${name} | ${med(rows, 'rps').toFixed(0)} (${fmt(rows, 'rps', 0)}) | ${ratio} | ${med(rows, 'p50').toFixed(2)} (${fmt(rows, 'p50', 2)}) | ` +
      `${med(rows, 'p99').toFixed(2)} (${fmt(rows, 'p99', 2)}) | ${med(rows, 'cpuUs').toFixed(0)} (${fmt(rows, 'cpuUs', 0)}) | ${loads.join(' / ')} |`,
  );
line('bare ECM answering inline (baseline)', base, '1.00x');
line(
  'bridge: SiteLink → broker → warm catalogue',
  mine,
  `${median(mine.map((m, i) => m.rps / base[i]!.rps)).toFixed(2)}x`,
);

console.log('');
console.log(
  'Through a refresh of the expired catalogue and user list, and steady with no refresh (the baseline, as long as the refresh before it); searches at the same concurrency:',
);
console.log(
  `| run | searches | p50 ms | p99 ms | max ms | longest loop stall ms | refresh s | vault calls | RSS before → peak MiB | peak / before | peak / idle (${idleMiB.toFixed(0)} MiB) | heap after GC MiB | load |`,
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const { name, p } of phases) {
  const q = (x: number) => p.lat[Math.min(p.lat.length - 1, Math.floor(x * p.lat.length))]!.toFixed(2);
  const refresh =
    p.refreshMs === undefined ? (name.includes('refresh') ? 'never' : '-') : (p.refreshMs / 1000).toFixed(2);
  console.log(
    `| ${name} | ${p.lat.length} | ${q(0.5)} | ${q(0.99)} | ${p.lat.at(-1)!.toFixed(2)} | ${p.stallMs.toFixed(0)} | ${refresh} | ${p.calls} | ` +
      `${p.beforeMiB.toFixed(0)} → ${p.peakMiB.toFixed(0)} | ${(p.peakMiB / p.beforeMiB).toFixed(2)}x | ${(p.peakMiB / idleMiB).toFixed(2)}x | ${p.heapAfterMiB?.toFixed(0) ?? '-'} | ${p.load} |`,
  );
}
