/**
 * ECM channel throughput and latency: console requests sent by the appliance simulator and
 * answered by (a) a bare `ws` client that answers each request inline (baseline: the cost of the
 * simulator, TLS and JSON alone) and (b) the bridge's SiteLink with a no-op handler (adds the
 * request dispatcher, deadlines, concurrency limit, metrics). Same process, same run, same machine.
 *
 *   npx tsx scripts/bench/appliance-channel.ts [requestsPerRound]
 */
import { cpus } from 'node:os';
import type { RequestHandler } from '../../src/appliance/channel/appliance-link.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { bareEcm, benchSiteLink, measure, until, type Row } from './ecm-bench.js';

const N = Number(process.argv[2] ?? 3000);
const ROUNDS = 3;
const CONCURRENCY = [1, 16, 64];
const perms = { ecm: true, reporting: false, command: 'read_only' as const };
const rawAccount = { clientId: 'raw', clientSecret: 'raw-secret-value', permissions: perms, ecmGroup: 'Raw' };
const linkAccount = { clientId: 'bench', clientSecret: 'bench-secret-value', permissions: perms, ecmGroup: 'Default' };
const context = { user: { username: 'CORP\\jdoe' }, endpoint: { hostname: 'web01', ip: '10.0.4.17:3389' } };
const result = {
  credentials: [
    { id: 'c1', displayName: 'Administrator on web01', username: 'Administrator', kind: 'password', source: 'local' },
  ],
};

const best = (rows: Row[]): Row => rows.reduce((a, b) => (b.rps > a.rps ? b : a));

const sim = new ApplianceSimulator({ accounts: [rawAccount, linkAccount], heartbeatMs: 15_000, maxRequestMs: 10_000 });
await sim.start();

// (a) baseline: a bare ws ECM answering inline, in its own ECM group.
const raw = await bareEcm(sim, rawAccount.clientId, rawAccount.clientSecret, result);

// (b) the bridge's SiteLink in group Default.
const handler: RequestHandler = { handle: async () => result as never };
const { link } = await benchSiteLink(sim, linkAccount, handler, createMetricsRegistry({ defaultMetrics: false }), 64);
await until(() => sim.hub.connections().length === 2 && link.status().state === 'connected');

// Rounds alternate between the two so machine noise hits both alike; the best round counts.
const rows: string[] = [];
for (const c of CONCURRENCY) {
  const base: Row[] = [];
  const mine: Row[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    base.push(await measure(sim, 'Raw', c, N, 'credentials.list', context, { purpose: 'login' }));
    mine.push(await measure(sim, 'Default', c, N, 'credentials.list', context, { purpose: 'login' }));
  }
  const b = best(base);
  const l = best(mine);
  rows.push(
    `| ${c} | ${b.rps.toFixed(0)} | ${l.rps.toFixed(0)} | ${(l.rps / b.rps).toFixed(2)} | ${b.p50.toFixed(2)} / ${b.p99.toFixed(2)} | ${l.p50.toFixed(2)} / ${l.p99.toFixed(2)} |`,
  );
}
raw.close();
await link.stop(1000);
await sim.stop();

console.log(
  `ECM channel round trip, ${N} credentials.list requests per round, best of ${ROUNDS} alternating rounds, ${cpus().length} cores, Node ${process.version}`,
);
console.log(
  '| concurrency | baseline req/s (bare ws) | SiteLink req/s | ratio | baseline p50/p99 ms | SiteLink p50/p99 ms |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
