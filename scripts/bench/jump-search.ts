/**
 * Benchmark: Jump item search through the Password Safe adapter over a generated estate
 * (100,000 systems, 300,000 accounts, 20 workgroups by default).
 *
 *   node --expose-gc --import tsx scripts/bench/jump-search.ts [--systems N] [--accounts N] [--runs 3] [--ops 2000] [--all-user false]
 *
 * Cold: the first search of a user (empty cache) at 0 ms and 20 ms vault latency: wall time,
 * vault calls, and sequential vault rounds as the simulator's call trace counts them; the
 * baseline is one vault round trip (`GET Platforms`) at the same latency in the same run. A
 * second user with the same view of the catalogue follows (the catalogue is shared).
 * Warm: p50/p99 of searches at concurrency 1 and 10 for a user granted one workgroup (5,000
 * systems) and one granted all (every system); the baseline is the previous algorithm, a
 * substring scan over the user's pre-lower-cased systems, timed on the same data in the same run.
 * Memory: heap per additional cached user. The simulator runs in a child process
 * (ps-sim-child.ts), which reports its call trace on request; warm searches do not call it.
 */
import { parseArgs } from 'node:util';
import type { VaultSystem } from '../../src/vault/vault-port.js';
import { benchVault, startBenchVaultSimulator } from './bench-vault.js';
import { describe as sampled, load1, machineLine, median, printTable, quantile, type Sampled } from './bench-stats.js';

const { values } = parseArgs({
  options: {
    systems: { type: 'string', default: '100000' },
    accounts: { type: 'string', default: '300000' },
    runs: { type: 'string', default: '3' },
    ops: { type: 'string', default: '2000' },
    /** `false` leaves out the user granted everything (its fill is slow on the simulator, very slow before issue 16). */
    'all-user': { type: 'string', default: 'true' },
  },
});
const systems = Number(values.systems);
const runs = Number(values.runs);
const ops = Number(values.ops);
const WORKGROUPS = 20;
const USER = 'u1-1@corp.example.com';
const SAME_VIEW = 'u1-2@corp.example.com';
const ALL = 'all@corp.example.com'; // ps-sim-child.ts grants this user every workgroup

const tGen = performance.now();
const sim = await startBenchVaultSimulator(systems, Number(values.accounts), 0);
const genMs = performance.now() - tGen;

const vault = () => benchVault(sim, 120_000);

const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
};

// --- cold ------------------------------------------------------------------------------------
interface Cold {
  ms: Sampled;
  rounds: Sampled;
  calls: Sampled;
  secondMs: Sampled;
  secondRounds: Sampled;
  rtt: Sampled;
}

async function cold(latencyMs: number): Promise<Cold> {
  const out: Cold = {
    ms: { values: [], loads: [] },
    rounds: { values: [], loads: [] },
    calls: { values: [], loads: [] },
    secondMs: { values: [], loads: [] },
    secondRounds: { values: [], loads: [] },
    rtt: { values: [], loads: [] },
  };
  for (let r = 0; r < runs; r++) {
    const v = vault();
    await sim.command(`latency ${latencyMs}`);
    // Sign-in and TLS connections outside the measurement (a pooled session is reused in production).
    await Promise.all(Array.from({ length: 10 }, () => Promise.all([v.health(USER), v.health(SAME_VIEW)])));
    const load = load1();
    let t = performance.now();
    await v.health(USER);
    out.rtt.values.push(performance.now() - t);
    await sim.command('trace');
    t = performance.now();
    await v.searchSystems(USER, 'srv01', 20);
    out.ms.values.push(performance.now() - t);
    const [rounds, calls] = (await sim.command('rounds')).split(' ').map(Number);
    out.rounds.values.push(rounds!);
    out.calls.values.push(calls!);
    await sim.command('trace');
    t = performance.now();
    await v.searchSystems(SAME_VIEW, 'srv01', 20);
    out.secondMs.values.push(performance.now() - t);
    out.secondRounds.values.push(Number((await sim.command('rounds')).split(' ')[0]));
    for (const s of Object.values(out) as Sampled[]) s.loads.push(load);
    await sim.command('latency 0');
    await v.close();
  }
  return out;
}

const cold0 = await cold(0);
const cold20 = await cold(20);

// --- warm ------------------------------------------------------------------------------------
const queries = (k: number) => {
  switch (k % 5) {
    case 0:
      return `srv0${String(k % 1000).padStart(3, '0')}`;
    case 1:
      return `10.0.${k % 256}.`;
    case 2:
      return `zz${k % 97}`; // no match: the worst case for a scan
    case 3:
      return `.corp.example`;
    default:
      return `${k % 10}`;
  }
};

async function latencies(concurrency: number, op: (k: number) => Promise<unknown>): Promise<number[]> {
  const lat: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ops) {
        const k = next++;
        const t = performance.now();
        await op(k);
        lat.push(performance.now() - t);
      }
    }),
  );
  return lat;
}

/** The previous search: lower-cased text per system built once, one substring scan per search. */
function oldScan(list: VaultSystem[]) {
  const text = list.map((s) => [s.name.toLowerCase(), s.hostname.toLowerCase(), s.ip ?? ''].join('\u0000'));
  return async (q: string, limit: number) => {
    const n = q.trim().toLowerCase();
    const hits: VaultSystem[] = [];
    for (let i = 0; i < list.length && hits.length < limit; i++) if (text[i]!.includes(n)) hits.push(list[i]!);
    return hits;
  };
}

const v = vault();
// Memory first, before the warm runs leave garbage: the first user (with the shared catalogue), then the others.
const heap0 = heap();
await v.searchSystems(USER, 'srv', 1);
const heap1 = heap();
const extra = Array.from({ length: WORKGROUPS - 1 }, (_, w) => `u${w + 2}-1@corp.example.com`);
for (const u of extra) await v.searchSystems(u, 'srv', 1);
const heap2 = heap();
const warmRows: string[][] = [];
for (const user of values['all-user'] === 'false' ? [USER] : [USER, ALL]) {
  await v.searchSystems(user, '', 1);
  const all = await v.searchSystems(user, '', 1_000_000);
  const scan = oldScan(all);
  for (const concurrency of [1, 10]) {
    const base = { p50: [] as number[], p99: [] as number[] };
    const now = { p50: [] as number[], p99: [] as number[] };
    const loads: string[] = [];
    for (let r = 0; r < runs; r++) {
      loads.push(load1());
      const b = await latencies(concurrency, (k) => scan(queries(k), 20));
      const n = await latencies(concurrency, (k) => v.searchSystems(user, queries(k), 20));
      base.p50.push(quantile(b, 0.5));
      base.p99.push(quantile(b, 0.99));
      now.p50.push(quantile(n, 0.5));
      now.p99.push(quantile(n, 0.99));
    }
    warmRows.push([
      `${user === ALL ? 'all' : '1 of 20'} workgroups (${all.length} systems), concurrency ${concurrency}`,
      median(base.p50).toFixed(3),
      median(base.p99).toFixed(3),
      `${median(now.p50).toFixed(3)} (${now.p50.map((x) => x.toFixed(3)).join(' / ')})`,
      `${median(now.p99).toFixed(3)} (${now.p99.map((x) => x.toFixed(3)).join(' / ')})`,
      `${(median(now.p99) / median(base.p99)).toFixed(2)}x`,
      loads.join(' / '),
    ]);
  }
}

await v.close();
sim.stop();

console.log(`Jump search benchmark: ${systems} systems, ${values.accounts} accounts, ${WORKGROUPS} workgroups`);
console.log(
  `${machineLine()}; estate generation + simulator start ${(genMs / 1000).toFixed(1)} s; gc ${gc ? 'on' : 'off'}`,
);
console.log('');
console.log('Cold first search of a user (median of runs; each run: a new adapter, session signed in beforehand):');
printTable(
  [
    'vault latency',
    'one round trip ms (baseline)',
    'cold search ms',
    'x round trip',
    'vault calls',
    'sequential rounds',
    'second user, same view: ms',
    'its rounds',
  ],
  [
    ['0 ms', cold0],
    ['20 ms', cold20],
  ].map(([name, c]) => {
    const x = c as Cold;
    return [
      name as string,
      sampled(x.rtt, 1),
      sampled(x.ms, 0),
      `${(median(x.ms.values) / median(x.rtt.values)).toFixed(1)}x`,
      median(x.calls.values).toFixed(0),
      // Without latency the single-threaded simulator answers each call before reading the next: no rounds to see.
      name === '0 ms' ? 'n/a' : `${median(x.rounds.values).toFixed(0)} (${x.rounds.values.join(' / ')})`,
      sampled(x.secondMs, 0),
      name === '0 ms' ? 'n/a' : `${median(x.secondRounds.values).toFixed(0)} (${x.secondRounds.values.join(' / ')})`,
    ];
  }),
);
console.log('');
console.log(`Warm searches (${ops} per run, limit 20, mixed queries incl. no-match), ms:`);
printTable(
  ['user', 'old scan p50', 'old scan p99', 'index p50 (runs)', 'index p99 (runs)', 'p99 vs old scan', 'load'],
  warmRows,
);
console.log('');
console.log(
  `Heap: ${((heap1 - heap0) / 2 ** 20).toFixed(1)} MiB for the first user (incl. the shared catalogue and its index); ` +
    `${((heap2 - heap1) / extra.length / 2 ** 10).toFixed(0)} KiB per further cached user (${extra.length} users, 5,000 systems each)`,
);
