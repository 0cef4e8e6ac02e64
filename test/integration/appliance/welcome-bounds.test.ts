import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as WsSocket } from 'ws';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ECM_ACCOUNT, sample, ScriptedHandler, startLink, until, writeCa, type StartedLink } from './harness.js';

describe('welcome frame bounds', () => {
  let sim: ApplianceSimulator;
  let started: StartedLink | undefined;
  const originalSend = WsSocket.prototype.send;
  beforeEach(async () => {
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 100 });
    await sim.start();
  });
  afterEach(async () => {
    WsSocket.prototype.send = originalSend;
    await started?.link.stop(100);
    started = undefined;
    await sim.stop();
  });

  it('a welcome with a 600 KB group, hostname or version is refused (1007) before it reaches the log or the status', async () => {
    const huge = 'g'.repeat(600_000);
    let field = 0;
    // Each welcome the simulator sends gets one oversized field, in turn.
    WsSocket.prototype.send = function (this: WsSocket, data: unknown, ...rest: unknown[]) {
      if (typeof data === 'string' && data.includes('"type":"welcome"')) {
        const w = JSON.parse(data) as { group: string; site: Record<string, string> };
        const which = field++ % 3;
        if (which === 0) w.group = huge;
        else if (which === 1) w.site.hostname = huge;
        else w.site.version = huge;
        data = JSON.stringify(w);
      }
      return (originalSend as (...a: unknown[]) => void).call(this, data, ...rest);
    } as typeof originalSend;
    started = await startLink(sim.url, writeCa(sim.caPem), new ScriptedHandler());
    const s = started;
    await until(
      async () => (await sample(s.metrics, 'ecm_bridge_channel_reconnects_total{site="sim",reason="bad_frame"}')) >= 3,
      'three welcomes refused',
    );
    expect(s.link.status().state).not.toBe('connected');
    const log = s.lines.join('\n');
    expect(log).toMatch(/welcome\.group is longer than 256 characters/);
    expect(log).toMatch(/welcome\.site\.hostname is longer than 255 characters/);
    expect(log).toMatch(/welcome\.site\.version is longer than 64 characters/);
    expect(log).not.toContain('g'.repeat(1000));
    expect(JSON.stringify(s.link.view())).not.toContain('g'.repeat(1000));
  });
});
