import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { FailoverPair } from '../../../src/simulators/appliance/failover-pair.js';
import { ECM_ACCOUNT, ScriptedHandler, startLink, until, writeCa, type StartedLink } from './harness.js';

/** A ManualClock that shows when each unfinished sleep is due, so a test can see a wait without waiting. */
class WatchedClock extends ManualClock {
  readonly #due = new Set<{ at: number }>();
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const wait = { at: this.now() + ms };
    this.#due.add(wait);
    return super.sleep(ms, signal).finally(() => this.#due.delete(wait));
  }
  /** Whether something (the link) is waiting on this clock for a time still to come. */
  waiting(): boolean {
    return [...this.#due].some((w) => w.at > this.now());
  }
}

/** Moves the clock one second at a time, each time letting the link finish its look and sleep again. */
async function seconds(clock: WatchedClock, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await until(() => clock.waiting(), 'the link waiting');
    await clock.advance(1_000);
  }
  await until(() => clock.waiting(), 'the link waiting');
}

const BACKOFF = { baseMs: 1_000, capMs: 60_000 };

describe('the ECM channel follows the primary at the watch interval, not at the backoff', () => {
  const links: StartedLink[] = [];
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const l of links.splice(0)) await l.link.stop(200);
    for (const s of stops.splice(0)) await s();
  });

  it('a 60 s swap with no primary: the channel is on the new primary one look after it answers', async () => {
    const pair = new FailoverPair({ accounts: [ECM_ACCOUNT], heartbeatMs: 60_000 });
    await pair.start();
    stops.push(() => pair.stop());
    const [n0, n1] = pair.nodes;
    const clock = new WatchedClock();
    const l = await startLink(n0.url, writeCa(pair.caPem), new ScriptedHandler(), {
      clock,
      backoff: BACKOFF,
      followMs: 1_000,
      extra: { nodes: [n0.node, n1.node] },
    });
    links.push(l);
    await until(() => n0.hub.connections().length === 1, 'connected to n0');
    pair.setBoth('backup');
    await until(() => l.link.status().state === 'backoff', 'waiting after the 1001');
    // A minute with both nodes backup: the backoff grows to tens of seconds meanwhile.
    await seconds(clock, 60);
    expect(l.link.status().state).toBe('backoff');
    n1.setRole('primary');
    await seconds(clock, 1);
    await until(
      () => n1.hub.connections().length === 1 && l.link.status().state === 'connected',
      'connected to the new primary',
    );
    // The watch reused each node's cached token: one mint per node for the whole swap.
    expect(n0.tokens.mintCount).toBe(1);
    expect(n1.tokens.mintCount).toBe(1);
    // Neither backup was asked for a channel while the watch waited.
    expect(n0.upgrades.get(503) ?? 0).toBe(0);
    expect(n1.upgrades.get(503) ?? 0).toBe(0);
  });

  it('a shared-IP site (no nodes): the role changes behind one address and the channel follows it', async () => {
    const sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 60_000, failoverRole: 'primary' });
    await sim.start();
    stops.push(() => sim.stop());
    const clock = new WatchedClock();
    const l = await startLink(sim.url, writeCa(sim.caPem), new ScriptedHandler(), {
      clock,
      backoff: BACKOFF,
      followMs: 1_000,
    });
    links.push(l);
    await until(() => sim.hub.connections().length === 1, 'connected');
    sim.setRole('backup');
    await until(() => l.link.status().state === 'backoff', 'waiting after the 1001');
    await seconds(clock, 20);
    const refusedWhileBackup = sim.upgrades.get(503) ?? 0;
    sim.setRole('primary');
    await seconds(clock, 1);
    await until(() => sim.hub.connections().length === 1 && l.link.status().state === 'connected', 'connected again');
    // While backup the address was asked for a channel only at the backoff's pace, not every look.
    expect(refusedWhileBackup).toBeLessThanOrEqual(6);
    expect(sim.tokens.mintCount).toBe(1);
  });
});
