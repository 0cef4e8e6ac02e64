/**
 * ECM channel throughput and latency: console requests sent by the appliance simulator and
 * answered by (a) a bare `ws` client that answers each request inline (baseline: the cost of the
 * simulator, TLS and JSON alone) and (b) the bridge's SiteLink with a no-op handler (adds the
 * request dispatcher, deadlines, concurrency limit, metrics). Same process, same run, same machine.
 *
 *   npx tsx scripts/bench/appliance-channel.ts [requestsPerRound]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket as WsClient } from 'ws';
import type { RequestHandler } from '../../src/appliance/appliance-link.js';
import { SiteLink } from '../../src/appliance/site-link.js';
import { systemClock } from '../../src/platform/clock.js';
import { withSecretEnv } from '../../src/platform/config/secret-ref.js';
import { siteSchema } from '../../src/appliance/site-config.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { Readiness } from '../../src/platform/readiness.js';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';

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

interface Row {
  rps: number;
  p50: number;
  p99: number;
}

async function measure(sim: ApplianceSimulator, group: string, concurrency: number): Promise<Row> {
  const lat: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < N) {
        const t = performance.now();
        const out = await sim.hub.request(group, 'credentials.list', context, { purpose: 'login' });
        if (out.answeredBy !== 'ecm') throw new Error(`not answered by the ECM: ${JSON.stringify(out)}`);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { rps: N / secs, p50: lat[Math.floor(lat.length * 0.5)] ?? 0, p99: lat[Math.floor(lat.length * 0.99)] ?? 0 };
}

const best = (rows: Row[]): Row => rows.reduce((a, b) => (b.rps > a.rps ? b : a));

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

const sim = new ApplianceSimulator({ accounts: [rawAccount, linkAccount], heartbeatMs: 15_000, maxRequestMs: 10_000 });
await sim.start();
const caFile = join(mkdtempSync(join(tmpdir(), 'bench-')), 'ca.pem');
writeFileSync(caFile, sim.caPem);

// (a) baseline: a bare ws ECM answering inline, in its own ECM group.
const token = sim.tokens.mint(rawAccount.clientId, rawAccount.clientSecret)?.token as string;
const raw = new WsClient(`${sim.url.replace('https', 'wss')}/api/ecm/v1`, {
  ca: sim.caPem,
  headers: { authorization: `Bearer ${token}` },
});
await new Promise((r) => raw.once('open', r));
raw.send(
  JSON.stringify({
    type: 'hello',
    protocol: 1,
    ecm: { name: 'raw', version: '0', instanceId: 'raw', host: 'bench' },
    capabilities: [],
  }),
);
raw.on('message', (data) => {
  const f = JSON.parse(String(data)) as { type: string; id: string; t?: number };
  if (f.type === 'request') raw.send(JSON.stringify({ type: 'response', id: f.id, result }));
  else if (f.type === 'ping') raw.send(JSON.stringify({ type: 'pong', t: f.t }));
});

// (b) the bridge's SiteLink in group Default.
const site = withSecretEnv(
  { env: { S: linkAccount.clientSecret }, allowLiterals: false, readFile: () => '', baseDir: '.' },
  () =>
    siteSchema.parse({
      name: 'bench',
      url: sim.url,
      caFile,
      ecm: { clientId: linkAccount.clientId, clientSecret: 'env:S', maxConcurrentRequests: 64 },
    }),
);
const handler: RequestHandler = { handle: async () => result as never };
const link = new SiteLink(site, {
  log: silentLogger(),
  metrics: createMetricsRegistry({ defaultMetrics: false }),
  readiness: new Readiness(),
  clock: systemClock,
  instanceId: 'bench',
});
await link.start(handler);
await until(() => sim.hub.connections().length === 2 && link.status().state === 'connected');

// Rounds alternate between the two so machine noise hits both alike; the best round counts.
const rows: string[] = [];
for (const c of CONCURRENCY) {
  const base: Row[] = [];
  const mine: Row[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    base.push(await measure(sim, 'Raw', c));
    mine.push(await measure(sim, 'Default', c));
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
