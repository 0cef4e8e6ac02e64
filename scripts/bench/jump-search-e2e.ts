/**
 * Jump item search end to end, as a console sees it: the appliance simulator sends `jump.search`
 * through the ECM channel (SiteLink) → wire mapper → broker → Password Safe adapter answering
 * from its warm catalogue, over a generated estate (100,000 systems by default). The baseline is
 * a bare `ws` ECM answering the very same items inline through the same simulator, in the same
 * run: what the channel alone costs. Runs alternate baseline and bridge.
 *
 *   npx tsx scripts/bench/jump-search-e2e.ts [--systems 100000] [--requests 2000] [--concurrency 10] [--runs 3]
 *
 * Then "through a refresh": the adapter's clock is moved past the catalogue's TTL (within its
 * stale window), so the next search is answered from the old lists while one background refresh
 * re-reads and re-indexes the whole catalogue; searches keep running until the simulator has seen
 * no new call for two polls. Reported per run: p50/p99/max of those searches and the process's
 * RSS peak (sampled every 5 ms) against its RSS just before.
 *
 * The Password Safe simulator runs in a child process; it is called only by the cold search and
 * the refreshes.
 */
import { parseArgs } from 'node:util';
import { systemClock, type Clock } from '../../src/platform/clock.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { MemoryStateStore } from '../../src/store/memory-store.js';
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
const vault = benchVault(ps, 120_000, {}, clock);
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

/** Searches at CONCURRENCY while one refresh of the expired lists runs; latencies and RSS. */
async function throughRefresh(): Promise<{ lat: number[]; idleMiB: number; peakMiB: number; calls: number }> {
  await ps.command('trace');
  const idle = process.memoryUsage.rss();
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  skewMs += 3_610_000;
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
  let calls = 0;
  // Bounded: a refresh that never starts (no call within a minute) ends the run, reported as 0 calls.
  for (let still = 0, polls = 0; still < 2 && polls < 120; polls++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = Number((await ps.command('rounds')).split(' ')[1]);
    still = now > 0 && now === calls ? still + 1 : 0;
    calls = now;
  }
  stop = true;
  await Promise.all(workers);
  clearInterval(sampler);
  return { lat: lat.sort((a, b) => a - b), idleMiB: idle / 2 ** 20, peakMiB: peak / 2 ** 20, calls };
}
const refreshes: Awaited<ReturnType<typeof throughRefresh>>[] = [];
const refreshLoads: string[] = [];
for (let r = 0; r < RUNS; r++) {
  refreshLoads.push(load1());
  refreshes.push(await throughRefresh());
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
console.log('Through a refresh of the expired catalogue and user list (searches at the same concurrency):');
console.log(
  '| run | searches | p50 ms | p99 ms | max ms | vault calls | RSS before MiB | RSS peak MiB | peak / before | load |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
refreshes.forEach((r, i) => {
  const q = (p: number) => r.lat[Math.min(r.lat.length - 1, Math.floor(p * r.lat.length))]!.toFixed(2);
  console.log(
    `| ${i + 1} | ${r.lat.length} | ${q(0.5)} | ${q(0.99)} | ${r.lat.at(-1)!.toFixed(2)} | ${r.calls} | ${r.idleMiB.toFixed(0)} | ${r.peakMiB.toFixed(0)} | ${(r.peakMiB / r.idleMiB).toFixed(2)}x | ${refreshLoads[i]} |`,
  );
});
