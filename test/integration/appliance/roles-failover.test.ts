import { afterEach, describe, expect, it } from 'vitest';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { FailoverPair } from '../../../src/simulators/appliance/failover-pair.js';
import { ECM_ACCOUNT, sample, ScriptedHandler, startLink, until, USER, writeCa, type StartedLink } from './harness.js';
import { CONSOLE_DEADLINE_MS } from '../../helpers/deadlines.js';

describe('ECM roles within a group and health-aware failover', () => {
  const links: StartedLink[] = [];
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const l of links.splice(0)) await l.link.stop(200);
    for (const s of stops.splice(0)) await s();
  });

  it('routes only to the oldest replica of a group; the next one takes over when it stops', async () => {
    const sim = new ApplianceSimulator({
      accounts: [ECM_ACCOUNT],
      heartbeatMs: 100,
      maxRequestMs: CONSOLE_DEADLINE_MS,
    });
    await sim.start();
    stops.push(() => sim.stop());
    const caFile = writeCa(sim.caPem);
    const handlerA = new ScriptedHandler();
    const handlerB = new ScriptedHandler();
    const a = await startLink(sim.url, caFile, handlerA, { instanceId: 'replica-a' });
    links.push(a);
    await until(() => a.link.status().state === 'connected', 'A connected');
    const b = await startLink(sim.url, caFile, handlerB, { instanceId: 'replica-b' });
    links.push(b);
    await until(() => b.link.status().state === 'connected', 'B connected');
    expect(a.link.status().role).toBe('active');
    expect(b.link.status().role).toBe('standby');
    expect((await b.readiness.report()).components['site:sim']).toMatchObject({
      ready: true,
      reason: 'connected (standby)',
    });
    for (let i = 0; i < 5; i++)
      expect((await sim.hub.request('Default', 'credentials.list', USER, {})).ecmInstanceId).toBe('replica-a');
    expect(handlerB.calls).toHaveLength(0);
    await a.link.stop(200);
    links.splice(links.indexOf(a), 1);
    await until(() => b.link.status().role === 'active', 'B promoted');
    expect((await sim.hub.request('Default', 'credentials.list', USER, {})).ecmInstanceId).toBe('replica-b');
    expect(await sample(b.metrics, 'ecm_bridge_channel_active{site="sim"}')).toBe(1);
    // B never reconnected: it kept its seniority.
    expect(sim.upgrades.get(101)).toBe(2);
  });

  it('a replica that comes back goes to the back of the queue', async () => {
    const sim = new ApplianceSimulator({
      accounts: [ECM_ACCOUNT],
      heartbeatMs: 100,
      maxRequestMs: CONSOLE_DEADLINE_MS,
    });
    await sim.start();
    stops.push(() => sim.stop());
    const caFile = writeCa(sim.caPem);
    const a = await startLink(sim.url, caFile, new ScriptedHandler(), { instanceId: 'replica-a' });
    links.push(a);
    await until(() => a.link.status().state === 'connected', 'A connected');
    const b = await startLink(sim.url, caFile, new ScriptedHandler(), { instanceId: 'replica-b' });
    links.push(b);
    await until(() => b.link.status().state === 'connected', 'B connected');
    await a.link.stop(100);
    links.splice(links.indexOf(a), 1);
    const a2 = await startLink(sim.url, caFile, new ScriptedHandler(), { instanceId: 'replica-a2' });
    links.push(a2);
    await until(() => a2.link.status().state === 'connected', 'A2 connected');
    expect(a2.link.status().role).toBe('standby');
    expect((await sim.hub.request('Default', 'credentials.list', USER, {})).ecmInstanceId).toBe('replica-b');
  });

  it('connects to the primary node and follows a failover swap', async () => {
    const pair = new FailoverPair({ accounts: [ECM_ACCOUNT], heartbeatMs: 100, maxRequestMs: CONSOLE_DEADLINE_MS });
    await pair.start();
    stops.push(() => pair.stop());
    const caFile = writeCa(pair.caPem);
    const [n0, n1] = pair.nodes;
    const l = await startLink(n0.url, caFile, new ScriptedHandler(), { extra: { nodes: [n1.node, n0.node] } });
    links.push(l);
    await until(() => l.link.status().state === 'connected', 'connected');
    expect(n0.hub.connections()).toHaveLength(1);
    expect(n1.hub.connections()).toHaveLength(0);
    expect(n1.upgrades.size).toBe(0); // the backup was probed, never asked for a channel
    // The status page's view of the nodes: each one's failover role and last data sync, as probed.
    const nodes = l.link.view().nodes;
    expect(nodes.map((n) => [n.node, n.role, n.healthy])).toEqual([
      [n1.node, 'backup', true],
      [n0.node, 'primary', true],
    ]);
    expect(nodes.every((n) => n.lastDataSyncAt !== undefined)).toBe(true);
    // The channel gauge names the node the channel is connected to, and every other node of the pair with 0.
    const connected = async () => ({
      [n0.node]: await sample(l.metrics, `ecm_bridge_channel_connected{site="sim",node="${n0.node}"}`),
      [n1.node]: await sample(l.metrics, `ecm_bridge_channel_connected{site="sim",node="${n1.node}"}`),
    });
    expect(await l.metrics.metrics()).toContain(`ecm_bridge_channel_connected{site="sim",node="${n1.node}"} 0`);
    expect(await connected()).toEqual({ [n0.node]: 1, [n1.node]: 0 });
    pair.swap();
    await until(
      () => n1.hub.connections().length === 1 && l.link.status().state === 'connected',
      'moved to the new primary',
    );
    expect(n0.hub.connections()).toHaveLength(0);
    expect(await connected()).toEqual({ [n0.node]: 0, [n1.node]: 1 });
    expect((await n1.hub.request('Default', 'credentials.list', USER, {})).answeredBy).toBe('ecm');
    expect(n1.tokens.mintCount).toBe(1); // its own token on the new primary
  });

  it('without Command API permission, tries healthy nodes in turn until the primary accepts', async () => {
    const noCommand = { ...ECM_ACCOUNT, permissions: { ecm: true, reporting: false, command: 'deny' as const } };
    const pair = new FailoverPair({ accounts: [noCommand], heartbeatMs: 100 });
    await pair.start();
    stops.push(() => pair.stop());
    const [n0, n1] = pair.nodes;
    const l = await startLink(n0.url, writeCa(pair.caPem), new ScriptedHandler(), {
      account: noCommand,
      extra: { nodes: [n1.node, n0.node] },
    });
    links.push(l);
    await until(() => l.link.status().state === 'connected', 'connected');
    expect(n1.upgrades.get(503)).toBe(1); // the backup refused once
    expect(n0.hub.connections()).toHaveLength(1);
    expect(await sample(l.metrics, 'ecm_bridge_channel_reconnects_total{site="sim",reason="http_503"}')).toBe(1);
  });
});
