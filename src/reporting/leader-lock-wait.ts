import type { Clock } from '../platform/clock.js';
import type { LeaderLock, LockHandle } from './report-store-port.js';

/** How often a waiting process tries the lock again: a replica's pull holds it for one run. */
const RETRY_MS = 1_000;

/**
 * Takes `name`, waiting while another holder (a replica's reporting run) has it. `onWait` is
 * called once, when the first try finds the lock held. Rejects with the signal's reason when
 * aborted.
 */
export async function acquireWhenFree(
  lock: LeaderLock,
  name: string,
  clock: Pick<Clock, 'sleep'>,
  signal: AbortSignal,
  onWait: () => void,
): Promise<LockHandle> {
  for (let first = true; ; first = false) {
    signal.throwIfAborted();
    const handle = await lock.tryAcquire(name);
    if (handle) return handle;
    if (first) onWait();
    await clock.sleep(RETRY_MS, signal);
  }
}
