/**
 * How fast the ECM channel follows the primary of a failover pair (issue 24, point 1): both nodes
 * backup for a while (a swap with a gap of 20 s, then 60 s), then one answers as primary; and a
 * quick failback (2 s gap). Three links watch the same pair in the same run:
 * - `watch`: SiteLink as shipped (backoff 1-60 s, follow watch every 1 s);
 * - `backoff only`: the same SiteLink with its watch stretched to the backoff cap, i.e. the old
 *   behaviour (it waits out its backoff, then tries);
 * - `fresh`: a new SiteLink started the moment the primary answers (the baseline: what resolving,
 *   minting, TLS and the welcome cost on this machine now).
 * Follow time: from the node answering as primary to the link's welcome on it.
 *
 *   npx tsx scripts/bench/channel-follow.ts [--runs 1]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestHandler } from '../../src/appliance/channel/appliance-link.js';
import { siteSchema } from '../../src/appliance/site-config.js';
import { SiteLink } from '../../src/appliance/channel/site-link.js';
import { withSecretEnv } from '../../src/platform/config/secret-ref.js';
import { systemClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { Readiness } from '../../src/platform/readiness.js';
import { FailoverPair } from '../../src/simulators/appliance/failover-pair.js';
import { until } from './ecm-bench.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 1);
const account = {
  clientId: 'ecm',
  clientSecret: 'ecm-bench-secret',
  permissions: { ecm: true, reporting: false, command: 'read_only' as const },
};
const handler: RequestHandler = { handle: async () => ({ credentials: [] }) as never };

const pair = new FailoverPair({ accounts: [account], heartbeatMs: 15_000 });
await pair.start();
const [n0, n1] = pair.nodes;
const caFile = join(mkdtempSync(join(tmpdir(), 'bench-follow-')), 'ca.pem');
writeFileSync(caFile, pair.caPem);
const site = withSecretEnv(
  { env: { S: account.clientSecret }, allowLiterals: false, readFile: () => '', baseDir: '.' },
  () =>
    siteSchema.parse({
      name: 'bench',
      url: n0.url,
      caFile,
      nodes: [n0.node, n1.node],
      ecm: { clientId: account.clientId, clientSecret: 'env:S' },
    }),
);

let instances = 0;
async function link(followMs: number): Promise<SiteLink> {
  const l = new SiteLink(site, {
    log: silentLogger(),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    readiness: new Readiness(),
    clock: systemClock,
    instanceId: `bench-${++instances}`,
    followMs,
  });
  await l.start(handler);
  return l;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rows: string[] = [];
for (let run = 1; run <= runs; run++) {
  const watch = await link(1_000);
  const old = await link(60_000);
  await until(() => watch.status().state === 'connected' && old.status().state === 'connected');
  for (const [label, gapMs] of [
    ['swap, 20 s without a primary', 20_000],
    ['swap, 60 s without a primary', 60_000],
    ['quick failback, 2 s', 2_000],
  ] as const) {
    const next = pair.primary === n0 ? n1 : n0;
    pair.setBoth('backup');
    await sleep(gapMs);
    next.setRole('primary');
    const t0 = performance.now();
    const fresh = await link(1_000);
    // While no node is primary no link can be connected: the next welcome is on `next`.
    const on = async (l: SiteLink) => {
      await until(() => l.status().state === 'connected');
      return performance.now() - t0;
    };
    const [w, o, f] = await Promise.all([on(watch), on(old), on(fresh)]);
    await fresh.stop(1000);
    rows.push(
      `| ${run} | ${label} | ${(w / 1000).toFixed(2)} | ${(o / 1000).toFixed(2)} | ${(f / 1000).toFixed(2)} | ${(w / f).toFixed(2)} | ${loadavg()[0]?.toFixed(1)} |`,
    );
  }
  await watch.stop(1000);
  await old.stop(1000);
}
await pair.stop();
console.log(
  [
    '| run | event | watch s | backoff only s | fresh link s | watch / fresh | load (1 min) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n'),
);
