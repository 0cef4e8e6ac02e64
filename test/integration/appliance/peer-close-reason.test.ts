import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as WsSocket } from 'ws';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ECM_ACCOUNT, sample, ScriptedHandler, startLink, until, USER, writeCa, type StartedLink } from './harness.js';
import { CONSOLE_DEADLINE_MS } from '../../helpers/deadlines.js';

/**
 * A peer-controlled value ends up in the reason of a close frame this side sends. Close reasons
 * over 123 bytes make the WebSocket client throw inside the message handler, which would be an uncaught
 * exception that kills the process.
 */
describe('close reasons built from peer values', () => {
  let sim: ApplianceSimulator;
  let caFile: string;
  let started: StartedLink | undefined;
  const originalSend = WsSocket.prototype.send;
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);

  beforeEach(async () => {
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 100, maxRequestMs: CONSOLE_DEADLINE_MS });
    await sim.start();
    caFile = writeCa(sim.caPem);
    process.on('uncaughtException', onUncaught);
  });
  afterEach(async () => {
    WsSocket.prototype.send = originalSend;
    process.off('uncaughtException', onUncaught);
    await started?.link.stop(200);
    started = undefined;
    await sim.stop();
  });

  it('closes with 4400 on a welcome with a 300-character protocol value and keeps running', async () => {
    // The simulator's welcome carries a huge (and multi-byte) protocol value.
    const huge = 'é'.repeat(150) + 'x'.repeat(150);
    WsSocket.prototype.send = function (this: WsSocket, data: unknown, ...rest: unknown[]) {
      if (typeof data === 'string' && data.includes('"type":"welcome"')) {
        data = JSON.stringify({ ...(JSON.parse(data) as object), protocol: huge });
      }
      return (originalSend as (...a: unknown[]) => void).call(this, data, ...rest);
    } as typeof originalSend;
    started = await startLink(sim.url, caFile, new ScriptedHandler());
    const s = started;
    await until(() => (sim.hub.closeCodes.get(4400) ?? 0) >= 2, 'two sessions closed with 4400');
    expect(s.link.status().state).not.toBe('connected');
    expect(
      await sample(s.metrics, 'ecm_bridge_channel_reconnects_total{site="sim",reason="protocol"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(uncaught).toEqual([]);
    // Still alive: once the appliance speaks the protocol again, the link connects and serves.
    WsSocket.prototype.send = originalSend;
    await until(() => s.link.status().state === 'connected', 'connected after the appliance was fixed');
    expect((await sim.hub.request('Default', 'jump.search', USER, { query: 'web' })).answeredBy).toBe('ecm');
    expect(uncaught).toEqual([]);
  });
});
