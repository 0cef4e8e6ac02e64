import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../platform/clock.js';
import type { CommitFence, LeaderLeases, LeaderTerm } from './report-store-port.js';

/**
 * A held term of a leadership (the reporting worker's run, a `report backfill`): its lease is
 * renewed every third of `ttlMs` on the clock, and by every commit (`fence()`), so it lapses only
 * when this process stops renewing for a whole `ttlMs` (hung, paused, cut off from the database).
 * Another replica may then take it, and this term's next commit is refused (report.leader_lost).
 */
export class Leadership {
  readonly #stop = new AbortController();
  #renewing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly leases: LeaderLeases,
    readonly term: LeaderTerm,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** Takes `name` when free or lapsed; undefined when another holder's lease is live. */
  static async take(leases: LeaderLeases, name: string, clock: Clock, ttlMs: number): Promise<Leadership | undefined> {
    const now = clock.now();
    const holder = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
    const term = await leases.take(name, holder, new Date(now), new Date(now + ttlMs));
    if (!term) return undefined;
    const held = new Leadership(leases, term, clock, ttlMs);
    held.#renewing = held.#renewLoop();
    return held;
  }

  /** What the next commit carries: this term, renewed to a full lease from now. */
  fence(): CommitFence {
    return { ...this.term, until: new Date(this.clock.now() + this.ttlMs) };
  }

  /** Stops renewing and ends the term (another replica may take it at once). */
  async release(): Promise<void> {
    this.#stop.abort();
    await this.#renewing;
    await this.leases.release(this.term);
  }

  async #renewLoop(): Promise<void> {
    const beat = this.ttlMs / 3;
    for (let last = this.clock.now(); ; last = this.clock.now()) {
      try {
        await this.clock.sleep(beat, this.#stop.signal);
        // A clock whose sleeps return at once (tests that skip retry delays) would make this a
        // busy loop: when the clock has not moved a beat, wait the beat in real time instead.
        if (this.clock.now() - last < beat) await sleep(beat, undefined, { signal: this.#stop.signal, ref: false });
      } catch {
        return; // released
      }
      // A renewal that fails (database unreachable) is tried again on the next beat; a term that
      // is over ends the loop: the commit fence refuses this holder's writes from now on.
      const renewed = await this.leases
        .renew(this.term, new Date(this.clock.now() + this.ttlMs))
        .catch(() => undefined);
      if (renewed === false) return;
    }
  }
}
