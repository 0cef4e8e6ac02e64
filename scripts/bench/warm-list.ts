/**
 * Warm `credentials.list` through the whole bridge path, driven by the appliance simulator:
 * ECM channel (SiteLink, default settings) → wire mapper → broker (mapping, endpoint match,
 * signed credential ids) → Password Safe adapter answering from its discovery cache. The baseline
 * is a bare `ws` ECM answering the same answer inline, in the same run.
 *
 *   npx tsx scripts/bench/warm-list.ts [--requests 3000] [--concurrency 50] [--runs 3] [--max-concurrent N]
 *
 * The Password Safe simulator runs in a child process; after the first list it is not called.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../../src/platform/clock.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { MemoryStateStore } from '../../src/store/memory/store.js';
import { benchBroker } from './bench-broker.js';
import { benchVault, startBenchVaultSimulator } from './bench-vault.js';
import { load1, machineLine, median } from './bench-stats.js';
import { bareEcm, benchSiteLink, measure, until, type Row } from './ecm-bench.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
    'max-concurrent': { type: 'string' },
  },
});
const N = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const RUNS = Number(values.runs);

const perms = { ecm: true, reporting: false, command: 'read_only' as const };
const rawAccount = { clientId: 'raw', clientSecret: 'raw-secret-value', permissions: perms, ecmGroup: 'Raw' };
const linkAccount = { clientId: 'bench', clientSecret: 'bench-secret-value', permissions: perms, ecmGroup: 'Default' };
// srv000020 is in WG01, granted to u1-1 (CORP\u1-1 maps to u1-1@corp.example.com).
const context = {
  user: { username: 'CORP\\u1-1', securityProvider: { id: 3, name: 'Corp AD', kind: 'ldap' } },
  endpoint: { hostname: 'srv000020', fqdn: 'srv000020.corp.example.com', ip: '10.0.0.20:3389' },
  jumpItem: { id: 20, name: 'srv000020', jumpGroup: { name: 'Servers' } },
  session: { lsid: 'bench-session' },
};
const params = { purpose: 'login' };

const ps = await startBenchVaultSimulator(2000, 6000, 0);
const vault = benchVault(ps);
const metrics = createMetricsRegistry({ defaultMetrics: false });
const handler = benchBroker({ vault, state: new MemoryStateStore(), metrics, clock: systemClock });

const sim = new ApplianceSimulator({ accounts: [rawAccount, linkAccount], heartbeatMs: 15_000, maxRequestMs: 10_000 });
await sim.start();
const { link, site } = await benchSiteLink(
  sim,
  linkAccount,
  handler,
  metrics,
  values['max-concurrent'] ? Number(values['max-concurrent']) : undefined,
);

// Warm the vault cache, and give the baseline ECM the very answer the bridge gives.
const first = await sim.hub.request('Default', 'credentials.list', context as never, params);
if (first.answeredBy !== 'ecm' || !('result' in first)) throw new Error(`warm-up failed: ${JSON.stringify(first)}`);
const raw = await bareEcm(sim, rawAccount.clientId, rawAccount.clientSecret, first.result);
await until(() => sim.hub.connections().length === 2);

// One unmeasured round of each first: JIT warm-up (the first round ran at about half speed).
await measure(sim, 'Raw', CONCURRENCY, N, 'credentials.list', context, params);
await measure(sim, 'Default', CONCURRENCY, N, 'credentials.list', context, params);
const base: Row[] = [];
const mine: Row[] = [];
const loads: string[] = [];
// Alternating runs, so machine noise hits both alike.
for (let r = 0; r < RUNS; r++) {
  loads.push(load1());
  base.push(await measure(sim, 'Raw', CONCURRENCY, N, 'credentials.list', context, params));
  mine.push(await measure(sim, 'Default', CONCURRENCY, N, 'credentials.list', context, params));
}
raw.close();
await link.stop(1000);
await sim.stop();
await vault.close();
ps.stop();

const fmt = (rows: Row[], k: keyof Row, d: number) => rows.map((x) => x[k].toFixed(d)).join(' / ');
console.log(
  `Warm credentials.list, ${N} requests per run at concurrency ${CONCURRENCY}, ${RUNS} alternating runs; ` +
    `maxConcurrentRequests ${site.ecm!.maxConcurrentRequests}`,
);
console.log(machineLine());
console.log('| path | req/s median (runs) | vs bare ECM | CPU µs/request median (runs) | p50 ms | p99 ms | load |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const bm = median(base.map((x) => x.rps));
const mm = median(mine.map((x) => x.rps));
const bc = median(base.map((x) => x.cpuUs));
const mc = median(mine.map((x) => x.cpuUs));
console.log(
  `| bare ECM answering inline (baseline) | ${bm.toFixed(0)} (${fmt(base, 'rps', 0)}) | 1.00x | ${bc.toFixed(0)} (${fmt(base, 'cpuUs', 0)}) | ${fmt(base, 'p50', 2)} | ${fmt(base, 'p99', 2)} | ${loads.join(' / ')} |`,
);
console.log(
  `| bridge: SiteLink → broker → cached vault | ${mm.toFixed(0)} (${fmt(mine, 'rps', 0)}) | ${(mm / bm).toFixed(2)}x | ${mc.toFixed(0)} (${fmt(mine, 'cpuUs', 0)}) | ${fmt(mine, 'p50', 2)} | ${fmt(mine, 'p99', 2)} | ${loads.join(' / ')} |`,
);
console.log('');
console.log(
  `The bridge's own CPU per request (bridge row minus baseline row, the simulator's share being alike): ${(mc - bc).toFixed(0)} µs, ` +
    `i.e. at most ${(1e6 / (mc - bc)).toFixed(0)} req/s of bridge work per core`,
);
