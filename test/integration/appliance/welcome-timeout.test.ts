import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as WsSocket } from 'ws';
import { ManualClock } from '../../../src/platform/clock.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ECM_ACCOUNT, sample, ScriptedHandler, startLink, until, writeCa, type StartedLink } from './harness.js';

describe('welcome timeout', () => {
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

  it('ends a channel the appliance never welcomes, on the injected clock, and connects once it does', async () => {
    // The simulator's welcome frames are swallowed: the upgrade succeeds, the handshake never ends.
    WsSocket.prototype.send = function (this: WsSocket, data: unknown, ...rest: unknown[]) {
      if (typeof data === 'string' && data.includes('"type":"welcome"')) return;
      return (originalSend as (...a: unknown[]) => void).call(this, data, ...rest);
    } as typeof originalSend;
    const clock = new ManualClock();
    started = await startLink(sim.url, writeCa(sim.caPem), new ScriptedHandler(), { clock });
    const s = started;
    await until(() => sim.upgrades.get(101) === 1, 'upgraded');
    // Time moves only here: the 10 s welcome timeout (and the short backoff after it).
    await until(async () => {
      await clock.advance(10_000);
      return (await sample(s.metrics, 'ecm_bridge_channel_reconnects_total{site="sim",reason="no_welcome"}')) >= 1;
    }, 'closed for want of a welcome');
    expect(s.link.status().state).not.toBe('connected');
    expect(s.lines.join('')).toContain('no welcome within the handshake timeout');
    WsSocket.prototype.send = originalSend;
    await until(async () => {
      await clock.advance(10_000);
      return s.link.status().state === 'connected';
    }, 'connected once welcomed');
  });
});
