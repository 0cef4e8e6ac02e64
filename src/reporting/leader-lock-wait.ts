import type { Clock } from '../platform/clock.js';
import { Leadership } from './leadership.js';
import type { LeaderLeases } from './report-store-port.js';

/** How often a waiting process tries the leadership again: a replica's pull holds it for one run. */
const RETRY_MS = 1_000;

/**
 * Takes the leadership `name`, waiting while another holder (a replica's reporting run) has it.
 * `onWait` is called once, when the first try finds it held. Rejects with the signal's reason
 * when aborted.
 */
export async function acquireWhenFree(
  leases: LeaderLeases,
  name: string,
  clock: Clock,
  ttlMs: number,
  signal: AbortSignal,
  onWait: () => void,
): Promise<Leadership> {
  for (let first = true; ; first = false) {
    signal.throwIfAborted();
    const held = await Leadership.take(leases, name, clock, ttlMs);
    if (held) return held;
    if (first) onWait();
    await clock.sleep(RETRY_MS, signal);
  }
}
