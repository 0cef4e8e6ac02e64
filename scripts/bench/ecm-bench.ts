import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket as WsClient } from 'ws';
import type { RequestHandler } from '../../src/appliance/channel/appliance-link.js';
import { siteSchema, type SiteConfig } from '../../src/appliance/site-config.js';
import { SiteLink } from '../../src/appliance/channel/site-link.js';
import { systemClock } from '../../src/platform/clock.js';
import { withSecretEnv } from '../../src/platform/config/secret-ref.js';
import { silentLogger } from '../../src/platform/logger.js';
import type { Registry } from '../../src/platform/metrics.js';
import { Readiness } from '../../src/platform/readiness.js';
import type { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';

/** Pieces shared by the ECM channel benchmarks: the bare answering ECM (the baseline) and the load loop. */

export interface Row {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU time of this process (user + system) per request, µs: steadier than req/s on a loaded machine. */
  cpuUs: number;
}

/**
 * A bare `ws` ECM in its own group that answers every request inline with `result`: the cost of
 * the simulator, TLS and JSON alone, measured against the bridge in the same run.
 */
/**
 * The bridge's SiteLink for site `bench` on `sim` with API account `account` (its ECM group is
 * the account's), started with `handler` and connected; with its parsed site settings.
 */
export async function benchSiteLink(
  sim: ApplianceSimulator,
  account: { clientId: string; clientSecret: string },
  handler: RequestHandler,
  metrics: Registry,
  maxConcurrentRequests?: number,
): Promise<{ link: SiteLink; site: SiteConfig }> {
  const caFile = join(mkdtempSync(join(tmpdir(), 'bench-')), 'ca.pem');
  writeFileSync(caFile, sim.caPem);
  const site = withSecretEnv(
    { env: { S: account.clientSecret }, allowLiterals: false, readFile: () => '', baseDir: '.' },
    () =>
      siteSchema.parse({
        name: 'bench',
        url: sim.url,
        caFile,
        ecm: {
          clientId: account.clientId,
          clientSecret: 'env:S',
          ...(maxConcurrentRequests ? { maxConcurrentRequests } : {}),
        },
      }),
  );
  const link = new SiteLink(site, {
    log: silentLogger(),
    metrics,
    readiness: new Readiness(),
    clock: systemClock,
    instanceId: 'bench',
  });
  await link.start(handler);
  await until(() => link.status().state === 'connected');
  return { link, site };
}

export async function bareEcm(sim: ApplianceSimulator, clientId: string, clientSecret: string, result: unknown) {
  const token = sim.tokens.mint(clientId, clientSecret)?.token as string;
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
  return raw;
}

/** `n` console requests sent by the simulator to `group`'s ECM with `concurrency` in flight. */
export async function measure(
  sim: ApplianceSimulator,
  group: string,
  concurrency: number,
  n: number,
  op: string,
  context: Record<string, unknown>,
  params: Record<string, unknown>,
): Promise<Row> {
  const lat: number[] = [];
  let next = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) {
        const t = performance.now();
        const out = await sim.hub.request(group, op, context as never, params);
        if (out.answeredBy !== 'ecm') throw new Error(`not answered by the ECM: ${JSON.stringify(out)}`);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  lat.sort((a, b) => a - b);
  return {
    rps: n / secs,
    p50: lat[Math.floor(lat.length * 0.5)] ?? 0,
    p99: lat[Math.floor(lat.length * 0.99)] ?? 0,
    max: lat.at(-1) ?? 0,
    cpuUs: (used.user + used.system) / n,
  };
}

export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}
