import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ECM_ACCOUNT, sample, ScriptedHandler, startLink, until, USER, writeCa, type StartedLink } from './harness.js';

/** Blocks this process's event loop for `ms` (what a long GC or a blocking call does to a replica). */
function stallEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* busy */
  }
}

describe('liveness of the ECM channel (issue 29, point 4)', () => {
  const links: StartedLink[] = [];
  let sim: ApplianceSimulator | undefined;
  afterEach(async () => {
    for (const l of links.splice(0)) await l.link.stop(200);
    await sim?.stop();
  });

  it('the hello asks for a 2 s heartbeat, so the appliance drops a frozen ECM after three of them', async () => {
    // The appliance's own heartbeat is a minute: only the ECM's request can make it notice sooner.
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 60_000 });
    await sim.start();
    const caFile = writeCa(sim.caPem);
    const l = await startLink(sim.url, caFile, new ScriptedHandler());
    links.push(l);
    let welcome: { heartbeatSeconds?: number } | undefined;
    await until(() => l.link.status().state === 'connected', 'connected');
    expect(sim.hub.connections()[0]?.heartbeatMs).toBe(2_000);
    // A frozen ECM: a raw client that says the same hello and then never answers a ping.
    const token = sim.tokens.mint(ECM_ACCOUNT.clientId, ECM_ACCOUNT.clientSecret as string)?.token as string;
    const frozen = new WebSocket(`${sim.url.replace('https', 'wss')}/api/ecm/v1`, {
      ca: sim.caPem,
      headers: { authorization: `Bearer ${token}` },
    });
    frozen.on('message', (d) => {
      const f = JSON.parse(String(d)) as { type: string; heartbeatSeconds?: number };
      if (f.type === 'welcome') welcome = f;
    });
    await new Promise((r) => frozen.once('open', r));
    frozen.send(
      JSON.stringify({
        type: 'hello',
        protocol: 1,
        ecm: { name: 'frozen', version: '0', instanceId: 'frozen', host: 'test' },
        capabilities: [],
        heartbeatSeconds: 1,
      }),
    );
    await until(() => welcome !== undefined, 'welcome');
    expect(welcome?.heartbeatSeconds).toBe(1);
    await until(() => sim?.hub.stats.deadPeers === 1, 'the appliance dropped the frozen ECM');
    // The bridge's own channel answers its pings and stays.
    expect(l.link.status().state).toBe('connected');
    expect((await sim.hub.request('Default', 'credentials.list', USER, {})).answeredBy).toBe('ecm');
  });

  it('a replica whose event loop stalls past the bound closes its channel; the standby takes the group', async () => {
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 60_000 });
    await sim.start();
    const caFile = writeCa(sim.caPem);
    // The bound is well above what a loaded test machine stalls by itself; the stall well above it.
    const a = await startLink(sim.url, caFile, new ScriptedHandler(), { instanceId: 'replica-a', stallMs: 2_000 });
    links.push(a);
    await until(() => a.link.status().role === 'active', 'A connected');
    const b = await startLink(sim.url, caFile, new ScriptedHandler(), { instanceId: 'replica-b', stallMs: 60_000 });
    links.push(b);
    await until(() => b.link.status().state === 'connected', 'B connected');
    stallEventLoop(5_000);
    await until(() => b.link.status().role === 'active', 'B took the group');
    await until(
      async () => (await sample(a.metrics, 'ecm_bridge_channel_reconnects_total{site="sim",reason="stalled"}')) === 1,
      'A counted its reconnect as a stall',
    );
    expect(a.lines.join('')).toMatch(/event loop stalled \d+ ms; handing the group to another ECM/);
    // A reconnected behind B: a standby now.
    await until(() => a.link.status().state === 'connected', 'A back');
    expect(a.link.status().role).toBe('standby');
  });
});
