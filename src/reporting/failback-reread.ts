import type { Logger } from 'pino';
import { ServiceError } from '../platform/errors.js';
import type { PrimaryView } from './report-source.js';
import type { CommitFence, FailbackState, FailbackStore } from './report-store-port.js';

/** What one pull does about the failback re-read. */
export interface FailbackPlan {
  /** Where the pull must start at the latest: the re-read's window. */
  fromMs?: number;
  /** The state to store once the pull committed: the re-read is done. */
  done?: FailbackState;
  /** The re-read owed before this pull (for /readyz); absent when none is or the primary could not be asked. */
  owed?: { fromMs: number; syncAfterMs: number };
}

const HOUR_MS = 3_600_000;
const SUCCESS = /^\s*(success|succeeded|successful|ok|complete|completed)\b/i;

/**
 * Whether a data sync the primary reports counts: only a successful one (`last_data_sync_status`
 * Success; a status that says anything else, e.g. Failed, does not). An appliance that reports a
 * sync time without a status is taken at its time.
 */
function syncSucceeded(status: string | undefined): boolean {
  return status === undefined || SUCCESS.test(status);
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The failback re-read of the reporting worker, its state in the store (FailbackStore) so a
 * restart or another replica taking the reporting leadership continues it.
 *
 * Why: a failover pair syncs its data with a lag. After a failover, sessions that ran on the old
 * primary after the last data sync are not on the new one until the pair syncs again, while the
 * cursor moves on; they come back behind it. So when the primary seen before a pull differs from
 * the one the last pull saw (another node, another appliance behind the site URL, or the same one
 * after the site URL reached a backup), a re-read is owed of the window since the new primary's
 * last successful data sync (at most `failbackRereadMaxHours` back). It is done ONCE: by the first
 * pull after the primary reports a successful data sync at or after the change was seen (a failed
 * sync does not count), since only that sync brings everything back; pulls before it read from
 * their cursor only. Without a sync time (no Command API permission on a site with `nodes`) the
 * re-read is done at once. A re-read still owed when its change falls out of the bound is given
 * up, with a warning. Every write is fenced by the reporting leadership's term.
 */
export class FailbackReread {
  /** Sites whose unnamed primary was already warned about, and the failed sync last logged per site. */
  readonly #warned = new Set<string>();
  readonly #failedSyncLogged = new Map<string, number>();

  constructor(
    private readonly store: FailbackStore,
    private readonly log: Logger,
    private readonly maxHours: number,
  ) {}

  /**
   * Before a pull: compares `view` with the stored state, stores what changed, and says whether
   * this pull re-reads. Throws `appliance.unavailable` when the site URL reaches the backup.
   */
  async plan(site: string, view: PrimaryView, now: number, fence: () => CommitFence): Promise<FailbackPlan> {
    if (view.node === undefined) {
      if (!this.#warned.has(site))
        this.log.warn(
          { site, detail: view.detail },
          'reporting: cannot ask the site for its failover role (check_health through the site URL); a failover behind the site URL is not noticed until it can (give the reporting account Command API read-only permission)',
        );
      this.#warned.add(site);
      return {};
    }
    this.#warned.delete(site);
    const saved = await this.store.get(site);
    const bound = now - this.maxHours * HOUR_MS;
    const seen = view.role === 'backup' ? null : view.node;
    let reread = saved?.reread;
    if (saved && seen !== null && saved.primary !== seen) {
      const sync =
        view.lastDataSyncAt !== undefined && syncSucceeded(view.lastDataSyncStatus) ? view.lastDataSyncAt : bound;
      const fromMs = Math.max(bound, sync);
      reread = { fromMs: Math.min(fromMs, reread?.fromMs ?? fromMs), syncAfterMs: now };
      this.log.warn(
        { site, from: saved.primary ?? '(the backup)', to: seen, rereadFrom: iso(reread.fromMs) },
        'reporting: the primary changed; the window since the last data sync is re-read once the primary reports a successful data sync after the change',
      );
    }
    if (reread && reread.syncAfterMs < bound) {
      this.log.warn(
        { site, changedAt: iso(reread.syncAfterMs), failbackRereadMaxHours: this.maxHours },
        'reporting: no successful data sync reported within failbackRereadMaxHours of the primary change; the failback re-read is given up (run report backfill over the failover window if the old primary comes back later)',
      );
      reread = undefined;
    }
    const next: FailbackState = { primary: seen, ...(reread ? { reread } : {}) };
    if (!same(saved, next)) await this.store.put(site, next, fence());
    if (seen === null)
      throw new ServiceError(
        'appliance.unavailable',
        `site ${site}: the site URL reaches the failover backup (${view.node}); reporting resumes when it reaches the primary`,
        { op: 'appliance.failover', details: { site } },
      );
    if (!reread) return {};
    const owed = { owed: reread };
    const sync = view.lastDataSyncAt;
    if (sync !== undefined && !(sync >= reread.syncAfterMs && syncSucceeded(view.lastDataSyncStatus))) {
      if (sync >= reread.syncAfterMs && this.#failedSyncLogged.get(site) !== sync) {
        this.#failedSyncLogged.set(site, sync);
        this.log.warn(
          { site, syncAt: iso(sync), status: view.lastDataSyncStatus },
          'reporting: the primary reports a data sync that did not succeed; the failback re-read waits for a successful one',
        );
      }
      return owed;
    }
    return { fromMs: Math.max(reread.fromMs, bound), done: { primary: seen }, ...owed };
  }

  /** After the pull that re-read committed: the re-read is done. */
  async finish(site: string, plan: FailbackPlan, fence: () => CommitFence): Promise<void> {
    if (plan.done) await this.store.put(site, plan.done, fence());
  }
}

function same(a: FailbackState | undefined, b: FailbackState): boolean {
  return (
    a !== undefined &&
    a.primary === b.primary &&
    a.reread?.fromMs === b.reread?.fromMs &&
    a.reread?.syncAfterMs === b.reread?.syncAfterMs
  );
}
