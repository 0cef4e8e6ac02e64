import type { Clock } from '../platform/clock.js';

/** One finished pull of one site, as the status page charts it. */
export interface PullRecord {
  /** ISO time the pull finished. */
  at: string;
  outcome: 'ok' | 'failed';
  /** Sessions read and stored by the pull (0 when it failed before storing any). */
  sessions: number;
  /** How far the site's cursor is behind `at`, in seconds; null before the first committed slice. */
  lagSeconds: number | null;
}

const DAY_MS = 24 * 3_600_000;

/**
 * The last 24 h of pulls per site, in memory only (it starts empty at every process start and
 * reload of the reporting unit). Bounded twice: records older than 24 h are dropped, and at most
 * `maxPerSite` are kept per site (1440 = one pull a minute, the shortest cron schedule).
 */
export class PullHistory {
  readonly #sites = new Map<string, PullRecord[]>();

  constructor(
    private readonly clock: Clock,
    private readonly maxPerSite = 1440,
  ) {}

  record(site: string, r: Omit<PullRecord, 'at'>): void {
    let list = this.#sites.get(site);
    if (!list) this.#sites.set(site, (list = []));
    list.push({ at: new Date(this.clock.now()).toISOString(), ...r });
    if (list.length > this.maxPerSite) list.splice(0, list.length - this.maxPerSite);
    this.#prune(list);
  }

  /** Each site's pulls of the last 24 h, oldest first. */
  last24h(): Record<string, PullRecord[]> {
    const out: Record<string, PullRecord[]> = {};
    for (const [site, list] of this.#sites) {
      this.#prune(list);
      out[site] = list.map((r) => ({ ...r }));
    }
    return out;
  }

  #prune(list: PullRecord[]): void {
    const from = this.clock.now() - DAY_MS;
    let drop = 0;
    while (drop < list.length && Date.parse((list[drop] as PullRecord).at) < from) drop++;
    if (drop > 0) list.splice(0, drop);
  }
}
