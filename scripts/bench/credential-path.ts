/**
 * Benchmark: the credential path (credentials.get + credentials.release) through the broker on
 * the embedded store (PGlite in a data directory) against the same vault calls made by a bare
 * client of the API (`DirectPsClient`: POST Requests, GET Credentials, PUT checkin on one
 * connection per worker, sharing nothing with the bridge), at concurrency 1 and 50, and the
 * broker's release cost with many live leases (`--leases ''` leaves those rows out).
 *
 *   npx tsx scripts/bench/credential-path.ts [--seconds S] [--runs N] [--latency-ms MS] [--leases 1000,10000]
 *       [--store pglite|mssql]
 *
 * `--store mssql` puts the state on SQL Server (MSSQL_URL) instead of PGlite: the database then
 * runs in its own process, so "bridge CPU" leaves out the statements' execution and the get and
 * release latencies (p50) show what the statements cost; the live-lease cases are PGlite only.
 *
 * The simulator runs in a child process with a fixed answer latency, so this process's CPU is
 * the bridge's (adapter, broker, store). "Bridge CPU" is CPU per operation minus the direct
 * client's CPU per cycle in the same run: everything the bridge adds, its vault adapter included;
 * at 1 worker the two alternate cycle by cycle (each 1-worker case has its own direct row). At 50
 * workers the direct client and the bridge alternate run by run, and a second bridge whose vault
 * adapter has 16 connections (the hard-coded pool before `vault.connections`) shows what the
 * pool size does. Each figure is the median of `runs` runs, with every run's value and the
 * 1-minute load average before it.
 */
import { benchBroker } from './bench-broker.js';
import { benchVault, startBenchVaultSimulator } from './bench-vault.js';
import { DirectPsClient } from './direct-ps-client.js';
import { setMaxListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import type { RequestContext } from '../../src/protocol/ecm-protocol.js';
import { MssqlStore } from '../../src/store/mssql/store.js';
import { PgliteStore } from '../../src/store/pglite/store.js';
import { configFromUrl } from '../../test/helpers/mssql-url.js';
import { StoreMetrics } from '../../src/store/store-metrics.js';
import type { VaultAccount } from '../../src/vault/vault-port.js';
import { describe, load1, machineLine, median, printTable, quantile, type Sampled } from './bench-stats.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '3' },
    'latency-ms': { type: 'string', default: '20' },
    leases: { type: 'string', default: '1000,10000' },
    store: { type: 'string', default: 'pglite' },
  },
});
const onMssql = values.store === 'mssql';
if (onMssql && !process.env.MSSQL_URL) throw new Error('--store mssql needs MSSQL_URL');
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const latencyMs = Number(values['latency-ms']);
const leaseCounts = (onMssql ? '' : values.leases)
  .split(',')
  .filter((n) => n !== '')
  .map(Number);
const USER = 'u1-1@corp.example.com'; // granted WG01: systems whose number is a multiple of 20
const SYSTEMS = 2000;

const sim = await startBenchVaultSimulator(SYSTEMS, SYSTEMS * 3, latencyMs);
const vault = benchVault(sim);
const dataDir = mkdtempSync(join(tmpdir(), 'credential-bench-'));
const registry = createMetricsRegistry({ defaultMetrics: false });
const pglite = onMssql
  ? undefined
  : await PgliteStore.open(join(dataDir, 'db'), 5000, silentLogger(), new StoreMetrics(registry, 'pglite'));
const store =
  pglite ??
  (await MssqlStore.open(configFromUrl(process.env.MSSQL_URL!), silentLogger(), new StoreMetrics(registry, 'mssql')));
await store.migrate();
/** Group-commit counters (PGlite only: SQL Server sends each statement on its own). */
const batchStats = () => pglite?.state.batches.stats ?? { statements: NaN, batches: NaN };
const broker = benchBroker({ vault, state: store.state, metrics: registry, clock: systemClock });
const vault16 = benchVault(sim, undefined, { connections: 16 });
const broker16 = benchBroker({ vault: vault16, state: store.state, metrics: registry, clock: systemClock });
const signal = new AbortController().signal;
// Every worker's requests listen on this one signal (a console request has its own in the service).
setMaxListeners(0, signal);

/** Worker w's endpoint: its own system of WG01, so concurrent checkouts never share an account. */
function endpoint(w: number) {
  const i = (w + 1) * 20;
  const name = `srv${String(i).padStart(6, '0')}`;
  return { name, fqdn: `${name}.corp.example.com`, ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
}
const MAX_WORKERS = 50;
const contexts: RequestContext[] = [];
const accounts: VaultAccount[] = [];
for (let w = 0; w < MAX_WORKERS; w++) {
  const e = endpoint(w);
  const ctx: RequestContext = {
    user: { username: 'CORP\\u1-1', securityProvider: { id: 3, name: 'Corp AD', kind: 'ldap' } },
    endpoint: { hostname: e.name, fqdn: e.fqdn, ip: e.ip },
    jumpItem: { id: w, name: e.name, jumpGroup: { name: 'Servers' } },
    session: { lsid: `bench-session-${w}` },
  };
  contexts.push(ctx);
  await broker.handle('credentials.list', ctx, {}, signal);
  await broker16.handle('credentials.list', ctx, {}, signal);
  accounts.push((await vault.listAccounts(USER, { names: [e.name, e.fqdn], ips: [e.ip] }))[0]!);
}
const bare = await DirectPsClient.start(sim.url, sim.caFile, MAX_WORKERS, USER);

interface Measured {
  cyclesPerSec: number;
  getP50: number;
  releaseP50: number;
  cpuMsPerCycle: number;
  cpuMsGet: number;
  cpuMsRelease: number;
  /** State-store statements per transaction (group commit); NaN when the store was not used. */
  perBatch: number;
}

type Get = (w: number) => Promise<unknown>;
type Release = (w: number, got: unknown) => Promise<void>;

/** What cycles of one kind added up to. */
class Tally {
  n = 0;
  cpuGet = 0;
  cpuRelease = 0;
  busyMs = 0;
  readonly lat: number[] = [];
  readonly releaseLat: number[] = [];
  readonly batches0 = { ...batchStats() };

  /** One get+release cycle of worker `w`, with the CPU of each call (meaningful at 1 worker only). */
  async cycle(w: number, get: Get, release: Release): Promise<void> {
    const c0 = process.cpuUsage();
    const t = performance.now();
    const got = await get(w);
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    const c2 = process.cpuUsage();
    await release(w, got);
    const c3 = process.cpuUsage(c2);
    this.releaseLat.push(performance.now() - t1);
    this.lat.push(t1 - t);
    this.busyMs += performance.now() - t;
    this.cpuGet += c1.user + c1.system;
    this.cpuRelease += c3.user + c3.system;
    this.n++;
  }

  /** `cpuUs`: the process's CPU over the run (all workers); the per-call sum when undefined. */
  result(elapsedMs: number, cpuUs = this.cpuGet + this.cpuRelease): Measured {
    const stats = batchStats();
    return {
      cyclesPerSec: this.n / (elapsedMs / 1000),
      getP50: quantile(this.lat, 0.5),
      releaseP50: quantile(this.releaseLat, 0.5),
      cpuMsPerCycle: cpuUs / 1000 / this.n,
      cpuMsGet: this.cpuGet / 1000 / this.n,
      cpuMsRelease: this.cpuRelease / 1000 / this.n,
      perBatch: (stats.statements - this.batches0.statements) / (stats.batches - this.batches0.batches),
    };
  }
}

/** Runs get+release cycles on `workers` workers for `seconds`. */
async function cycles(workers: number, get: Get, release: Release): Promise<Measured> {
  const tally = new Tally();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (performance.now() < deadline) await tally.cycle(w, get, release);
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return tally.result(performance.now() - start, cpu.user + cpu.system);
}

/**
 * One worker for `seconds`, alternating a direct cycle and a bridged one, so both meet the same
 * conditions: at one worker the process is mostly idle, and CPU that comes in bursts (V8's
 * background compiles and collections, counted in the process's CPU) lands on whichever call is
 * running. Measured one after the other, such a burst in one case's seconds alone moved the
 * difference between the two by more than the bridge's own cost.
 */
async function alternating(): Promise<{ direct: Measured; bridge: Measured }> {
  const d = new Tally();
  const b = new Tally();
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    await d.cycle(0, directGet, directRelease);
    await b.cycle(0, bridgedGet, bridgedRelease);
  }
  return { direct: d.result(d.busyMs), bridge: b.result(b.busyMs) };
}

/**
 * Credential ids listed ahead for each worker, outside the measured time: an id is single-use once
 * its checkout is released and sealed (the bench cannot mint one), and the direct client lists
 * nothing. Both brokers share one credential-id key, so either's ids serve both. Refilled before
 * every measurement with what it can use at most.
 */
const idPools: string[][] = contexts.map(() => []);
async function fillIds(): Promise<void> {
  // Worker 0 runs the 1-worker cases (at most ~500 cycles/s); at 50 workers each makes far fewer.
  for (let w = 0; w < MAX_WORKERS; w++)
    while (idPools[w]!.length < seconds * (w === 0 ? 500 : 40))
      idPools[w]!.push(
        ...(await broker.handle('credentials.list', contexts[w]!, {}, signal)).credentials.map((c) => c.id),
      );
}
const freshId = (w: number) => {
  const id = idPools[w]!.pop();
  if (!id) throw new Error(`worker ${w} ran out of listed credential ids: raise fillIds' count`);
  return id;
};

const directGet: Get = (w) => bare.checkout(w, accounts[w]!.systemId, accounts[w]!.accountId);
const directRelease: Release = (w, got) => bare.checkin(w, (got as { requestId: string }).requestId);
const bridgedGet: Get = (w) => broker.handle('credentials.get', contexts[w]!, { credentialId: freshId(w) }, signal);
const releaseOn =
  (b: typeof broker): Release =>
  async (w, got) => {
    await b.handle(
      'credentials.release',
      contexts[w]!,
      { leaseId: (got as { credential: { leaseId: string } }).credential.leaseId },
      signal,
    );
  };
const bridgedRelease = releaseOn(broker);
const direct = (workers: number) => cycles(workers, directGet, directRelease);
const bridged = (workers: number) => cycles(workers, bridgedGet, bridgedRelease);
const bridged16 = (workers: number) =>
  cycles(
    workers,
    (w) => broker16.handle('credentials.get', contexts[w]!, { credentialId: freshId(w) }, signal),
    releaseOn(broker16),
  );

/** Live leases of another instance, so releases run against a table of that size. */
async function fillLeases(total: number): Promise<void> {
  await pglite!.db.query(
    `INSERT INTO ecm_bridge.lease (lease_id, vault_request_id, owner, site, console_user, vault_user, system_id,
       system_name, account_id, account_name, lsid, audit_id, created_at, expires_at)
     SELECT 'filler-' || g, 'filler-req-' || g, 'bench-filler', 'bench', 'CORP\\other', 'other@corp.example.com', g,
       'sys' || g, g, 'acct', 'filler-lsid-' || g, NULL, now(), now() + interval '1 day'
     FROM generate_series((SELECT count(*) FROM ecm_bridge.lease WHERE owner = 'bench-filler') + 1, $1::int) g`,
    [total],
  );
}

/** A row of the table; `base` names the row whose vault calls it is compared with. */
type Case = { name: string; base?: string };
/** One measurement, giving one or more rows. */
type Run = () => Promise<Record<string, Measured>>;
const oneWorker =
  (suffix: string): Run =>
  async () => {
    const { direct: d, bridge: b } = await alternating();
    return { [`direct vault, 1 worker${suffix}`]: d, [`bridge, 1 worker${suffix}`]: b };
  };
const pairRows = (suffix: string): Case[] => [
  { name: `direct vault, 1 worker${suffix}` },
  { name: `bridge, 1 worker${suffix}`, base: `direct vault, 1 worker${suffix}` },
];
const cases: Case[] = [
  ...pairRows(''),
  { name: 'direct vault, 50 workers' },
  { name: 'bridge, 50 workers', base: 'direct vault, 50 workers' },
  { name: 'bridge, 50 workers, 16 vault connections (before)', base: 'direct vault, 50 workers' },
];
const measurements: Run[] = [
  oneWorker(''),
  async () => ({ 'direct vault, 50 workers': await direct(50) }),
  async () => ({ 'bridge, 50 workers': await bridged(50) }),
  async () => ({ 'bridge, 50 workers, 16 vault connections (before)': await bridged16(50) }),
];
const results = new Map<string, { m: Measured[]; loads: string[] }>();
const record = async (run: Run) => {
  await fillIds();
  const load = load1();
  for (const [name, m] of Object.entries(await run())) {
    const r = results.get(name) ?? { m: [], loads: [] };
    r.m.push(m);
    r.loads.push(load);
    results.set(name, r);
  }
};
try {
  // TLS, sign-in and JIT warm-up outside the measurements, connections included.
  await direct(MAX_WORKERS);
  await fillIds();
  await bridged(MAX_WORKERS);
  await fillIds();
  await bridged16(MAX_WORKERS);
  for (let run = 0; run < runs; run++) for (const m of measurements) await record(m);
  // The bridge's cost against the number of live leases: 1 worker with the table filled.
  for (const n of leaseCounts) {
    await fillLeases(n);
    const suffix = `, ${n} live leases`;
    for (let run = 0; run < runs; run++) await record(oneWorker(suffix));
    cases.push(...pairRows(suffix));
  }

  const s = (name: string, f: (m: Measured) => number): Sampled => ({
    values: results.get(name)!.m.map(f),
    loads: results.get(name)!.loads,
  });
  console.log(
    `credential path benchmark: get + release cycles, vault latency ${latencyMs} ms, ${onMssql ? 'SQL Server (MSSQL_URL)' : 'PGlite data directory'}, ${seconds} s per case, median of ${runs} runs`,
  );
  console.log(machineLine());
  console.log('direct vault: a bare API client, one connection per worker, sharing nothing with the bridge');
  console.log('');
  const rows = cases.map((c) => {
    const cyc = s(c.name, (m) => m.cyclesPerSec);
    const row = [
      c.name,
      describe(cyc, 1),
      describe(
        s(c.name, (m) => m.getP50),
        1,
      ),
      describe(
        s(c.name, (m) => m.releaseP50),
        1,
      ),
    ];
    if (!c.base)
      return [
        ...row,
        'baseline',
        describe(
          s(c.name, (m) => m.cpuMsPerCycle),
          2,
        ),
        '',
        '',
        '',
        '',
      ];
    const base = s(c.base, (m) => m.cyclesPerSec);
    const ratio = median(cyc.values.map((v, i) => v / base.values[i]!));
    const bridgeCpu = (f: (m: Measured) => number) =>
      describe(
        {
          values: results.get(c.name)!.m.map((m, i) => f(m) - f(results.get(c.base!)!.m[i]!)),
          loads: cyc.loads,
        },
        2,
      );
    return [
      ...row,
      `${ratio.toFixed(2)}x`,
      describe(
        s(c.name, (m) => m.cpuMsPerCycle),
        2,
      ),
      bridgeCpu((m) => m.cpuMsPerCycle),
      c.name.includes('50 workers') ? 'n/a' : bridgeCpu((m) => m.cpuMsGet),
      c.name.includes('50 workers') ? 'n/a' : bridgeCpu((m) => m.cpuMsRelease),
      describe(
        s(c.name, (m) => m.perBatch),
        2,
      ),
    ];
  });
  printTable(
    [
      'case',
      'cycles/s',
      'get p50 ms',
      'release p50 ms',
      'cycles/s vs direct',
      'CPU ms/cycle',
      'bridge CPU ms/cycle',
      'bridge CPU ms/get',
      'bridge CPU ms/release',
      'state statements per transaction',
    ],
    rows,
  );
} finally {
  await bare.close();
  await vault.close();
  await vault16.close();
  await store.close();
  sim.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
