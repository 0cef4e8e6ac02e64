import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../../src/platform/clock.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ECM_ACCOUNT, sample, ScriptedHandler, startLink, until, USER, writeCa, type StartedLink } from './harness.js';
import { CONSOLE_DEADLINE_MS } from '../../helpers/deadlines.js';

/** Real timers, but `now` can jump ahead (shared by the bridge and the simulator's token expiry). */
class SkewedClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
}

describe('ECM channel resilience', () => {
  let sim: ApplianceSimulator;
  let caFile: string;
  let started: StartedLink | undefined;
  const clock = new SkewedClock();
  beforeEach(async () => {
    clock.offset = 0;
    sim = new ApplianceSimulator({
      accounts: [ECM_ACCOUNT],
      heartbeatMs: 100,
      maxRequestMs: CONSOLE_DEADLINE_MS,
      now: () => clock.now(),
    });
    await sim.start();
    caFile = writeCa(sim.caPem);
  });
  afterEach(async () => {
    await started?.link.stop(500);
    started = undefined;
    await sim.stop();
  });

  it('keeps the channel when its token expires, and mints a fresh one only at the next upgrade', async () => {
    started = await startLink(sim.url, caFile, new ScriptedHandler(), { clock });
    await until(() => started?.link.status().state === 'connected', 'connected');
    clock.offset += 2 * 3600_000; // the token is long dead now
    const later = await sim.hub.request('Default', 'credentials.list', USER, {});
    expect(later.answeredBy).toBe('ecm');
    // Several heartbeats later the channel is still the same one.
    const pongs = sim.hub.stats.pongs;
    await until(() => sim.hub.stats.pongs >= pongs + 3, 'three heartbeats answered');
    expect(started.link.status().state).toBe('connected');
    expect(sim.upgrades.get(101)).toBe(1);
    expect(sim.tokens.mintCount).toBe(1);
    expect(await sample(started.metrics, 'ecm_bridge_channel_reconnects_total{site="sim",reason="going_away"}')).toBe(
      0,
    );
    // A restart needs a new upgrade: the expired token is not even tried.
    await sim.restart(50);
    await until(() => sim.upgrades.get(101) === 2, 'reconnected');
    expect(sim.tokens.mintCount).toBe(2);
    expect(sim.upgrades.get(401)).toBeUndefined();
  });

  it('recovers when 31 tokens minted elsewhere invalidated its own (one re-mint, no storm)', async () => {
    started = await startLink(sim.url, caFile, new ScriptedHandler(), { clock });
    await until(() => started?.link.status().state === 'connected', 'connected');
    for (let i = 0; i < 30; i++) sim.tokens.mint(ECM_ACCOUNT.clientId, ECM_ACCOUNT.clientSecret as string);
    expect(sim.tokens.liveTokens(ECM_ACCOUNT.clientId)).toBe(30);
    expect((await sim.hub.request('Default', 'credentials.list', USER, {})).answeredBy).toBe('ecm'); // still up
    sim.hub.closeAll(1001, 'maintenance');
    await until(() => sim.upgrades.get(101) === 2 && sim.hub.connections().length === 1, 'reconnected');
    // The follow watch's check_health met the dead token first (401) and re-minted once, so the
    // next upgrade carried the fresh token: no refused upgrade, one re-mint.
    expect(sim.upgrades.get(401)).toBeUndefined();
    expect(started.link.attempts).toBe(2);
    expect(sim.tokens.mintCount).toBe(32);
    expect((await sim.hub.request('Default', 'credentials.list', USER, {})).answeredBy).toBe('ecm');
  });

  it('survives an appliance restart: the in-flight request is failed explicitly, later ones answered', async () => {
    let release: () => void = () => undefined;
    const aborted: unknown[] = [];
    const handler = new ScriptedHandler(
      (op, _p, signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => aborted.push(signal.reason));
          if (op === 'credentials.get') release = () => resolve({ credential: {} });
          else resolve({ credentials: [] });
        }),
    );
    started = await startLink(sim.url, caFile, handler, { clock });
    await until(() => started?.link.status().state === 'connected', 'connected');
    const inflight = sim.hub.request('Default', 'credentials.get', USER, { credentialId: 'c1' });
    await until(() => handler.calls.length === 1, 'request reached the handler');
    const restart = sim.restart(150);
    const failed = await inflight;
    expect(failed).toMatchObject({ answeredBy: 'appliance', applianceReason: 'channel_closed' });
    await until(() => aborted.length === 1, 'handler aborted');
    expect(aborted[0]).toMatchObject({ code: 'channel.closed' });
    release();
    await restart;
    await until(() => started?.link.status().state === 'connected', 'reconnected');
    expect((await sim.hub.request('Default', 'credentials.list', USER, {})).answeredBy).toBe('ecm');
    expect(sim.hub.stats.duplicateResponses + sim.hub.stats.unknownResponses).toBe(0);
    expect(
      await sample(
        started.metrics,
        'ecm_bridge_channel_requests_total{site="sim",op="credentials.get",outcome="channel_closed"}',
      ),
    ).toBe(1);
    expect(await sample(started.metrics, 'ecm_bridge_channel_reconnects_total{site="sim",reason="going_away"}')).toBe(
      1,
    );
  });

  it('notices a silent peer through three missed pongs and reconnects', async () => {
    started = await startLink(sim.url, caFile, new ScriptedHandler(), { clock });
    await until(() => started?.link.status().state === 'connected', 'connected');
    sim.hub.mute(true);
    await until(() => started?.link.status().state !== 'connected', 'dead channel noticed');
    sim.hub.mute(false);
    await until(() => started?.link.status().state === 'connected' && sim.upgrades.get(101) === 2, 'reconnected');
    expect(started.lines.join('')).toContain('3 missed pongs');
    expect(await sample(started.metrics, 'ecm_bridge_channel_reconnects_total{site="sim",reason="dead_peer"}')).toBe(1);
  });

  it('reconnects after a network drop', async () => {
    started = await startLink(sim.url, caFile, new ScriptedHandler(), { clock });
    await until(() => started?.link.status().state === 'connected', 'connected');
    sim.dropNetwork();
    await until(() => sim.upgrades.get(101) === 2 && started?.link.status().state === 'connected', 'reconnected');
    expect((await sim.hub.request('Default', 'jump.search', USER, { query: 'web' })).answeredBy).toBe('ecm');
  });
});
