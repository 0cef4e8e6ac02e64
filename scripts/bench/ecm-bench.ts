import { WebSocket as WsClient } from 'ws';
import type { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';

/** Pieces shared by the ECM channel benchmarks: the bare answering ECM (the baseline) and the load loop. */

export interface Row {
  rps: number;
  p50: number;
  p99: number;
  /** CPU time of this process (user + system) per request, µs: steadier than req/s on a loaded machine. */
  cpuUs: number;
}

/**
 * A bare `ws` ECM in its own group that answers every request inline with `result`: the cost of
 * the simulator, TLS and JSON alone, measured against the bridge in the same run.
 */
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
    cpuUs: (used.user + used.system) / n,
  };
}

export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}
