import { createHash } from 'node:crypto';
import { Limiter } from '../../platform/limiter.js';
import type { VaultSystem } from '../vault-port.js';
import type { DiscoveryCache, LoadContext } from './discovery-cache.js';
import { toSystem, type PlatformInfo, type SessionCall, type SystemInfo } from './ps-discovery.js';
import { failure, num, pick, rows } from './ps-json.js';
import { restOfCountedList, uncountedList } from './ps-paging.js';
import { byName, memberSet, nextTurn, SystemIndex } from './system-index.js';

/** The documented default page size of ManagedAccounts, and the first catalogue page (it tells the total). */
const FIRST_PAGE = 1000;
/** Later pages are larger: fewer round trips, each answer still a few MiB at most. */
const LATER_ACCOUNT_PAGE = 5000;
const MAX_CATALOGUE_PAGE = 25_000;
/**
 * Pages of a background refresh: the old lists are served meanwhile, so it takes more round trips
 * for pages whose `JSON.parse` is short (a 25,000-row page holds the event loop for hundreds of ms).
 */
const REFRESH_PAGE = FIRST_PAGE;
/**
 * Pages of a background refresh in flight at once per list (within the discovery limiter):
 * answers that arrive together are parsed back to back, so a refresh reads one page at a time,
 * with a turn of the event loop after each (2 at once measured a longer p99 through a refresh).
 */
const REFRESH_PAGES_IN_FLIGHT = 1;

/** Runs a background refresh's page reads one at a time, each followed by a turn of the loop; others as they come. */
function pacing(how: LoadContext): <T>(read: () => Promise<T>) => Promise<T> {
  if (!how.background) return (read) => read();
  const pages = new Limiter(REFRESH_PAGES_IN_FLIGHT);
  return (read) =>
    pages.run(async () => {
      const page = await read();
      await nextTurn();
      return page;
    });
}

export interface SystemSearchDeps {
  call: SessionCall;
  /** Per vault user: which systems of a catalogue they may request (served stale while refreshed). */
  users: DiscoveryCache;
  /** System catalogues, shared by the users who see the same one. */
  catalogues: DiscoveryCache;
  /** Bounds the discovery pages in flight for the whole vault. */
  limiter: Limiter;
  platforms: (vaultUser: string) => Promise<Map<number, PlatformInfo>>;
  workgroups: (vaultUser: string) => Promise<Map<number, string>>;
}

/** What a user's searches read: a shared catalogue with their bitset over it, plus systems it lacks. */
interface UserSystems {
  shared?: { index: SystemIndex; member: Uint8Array };
  /** Requestable systems the catalogue does not hold (all of them without "System Management: read"). */
  own: SystemIndex;
  platforms: Map<number, PlatformInfo>;
  workgroups: Map<number, string>;
}

/**
 * Jump item search: the RDP/SSH systems a vault user may request (those with an account in
 * their ManagedAccounts) whose name, host name or IP contains the query.
 *
 * A cold fill takes two sequential rounds for the usual estate: the first pages of the user's
 * accounts and of the system catalogue (whose `TotalCount` sizes the rest) with platforms and
 * workgroups, then the remaining pages of both at once. The catalogue, the bulk of the data, is
 * shared by every user whose view of it has the same fingerprint (total and first page), so a
 * second user's fill reads one catalogue page, not all of them; each user keeps only a bitset
 * over it (1 bit per system). Entries past their TTL are served while one refresh runs.
 */
export class SystemSearch {
  readonly #catalogueParallel: number;
  readonly #accountWindow: number;

  constructor(private readonly d: SystemSearchDeps) {
    // Half the limiter's slots for each list, so the second round of a cold fill fits in one go.
    this.#catalogueParallel = Math.max(1, Math.ceil(d.limiter.max / 2));
    this.#accountWindow = Math.max(1, Math.floor(d.limiter.max / 2));
  }

  async search(vaultUser: string, query: string, limit: number): Promise<VaultSystem[]> {
    // No caller's signal: a fill is shared by every waiting search and by background refreshes.
    const view = await this.d.users.get(`${vaultUser}\nsystems`, (how) => this.#fill(vaultUser, how), {
      staleWhileRevalidate: true,
    });
    const q = query.trim().toLowerCase();
    const found: SystemInfo[] = [];
    if (view.shared)
      for (const i of view.shared.index.search(q, limit, view.shared.member)) found.push(view.shared.index.systems[i]!);
    if (view.own.size > 0) {
      for (const i of view.own.search(q, limit)) found.push(view.own.systems[i]!);
      found.sort((a, b) => byName(a.name, b.name));
    }
    return found.slice(0, limit).map((s) => toVaultSystem(s, view));
  }

  async #fill(vaultUser: string, how: LoadContext): Promise<UserSystems> {
    const paced = pacing(how);
    const [accounts, catalogue, platforms, workgroups] = await Promise.all([
      uncountedList((offset, limit) => paced(() => this.#accountsPage(vaultUser, offset, limit)), {
        first: FIRST_PAGE,
        next: how.background ? REFRESH_PAGE : LATER_ACCOUNT_PAGE,
        window: this.#accountWindow,
      }),
      this.#catalogue(vaultUser, how),
      this.d.platforms(vaultUser),
      this.d.workgroups(vaultUser),
    ]);
    const remote = (s: SystemInfo) =>
      s.platformId !== undefined && (platforms.get(s.platformId)?.sessionType ?? null) !== null;
    const positions: number[] = [];
    const own = new Map<number, SystemInfo>();
    const seen = new Set<number>();
    for (const r of accounts) {
      const id = num(pick(r, 'SystemId'));
      if (id === undefined || seen.has(id)) continue;
      seen.add(id);
      const pos = catalogue?.positionOf(id);
      if (pos !== undefined) {
        if (remote(catalogue!.systems[pos]!)) positions.push(pos);
        continue;
      }
      // Not in the catalogue (or no "System Management: read"): the account list is all there is.
      const name = String(pick(r, 'SystemName') ?? id);
      const pid = num(pick(r, 'PlatformID'));
      const s: SystemInfo = { id, name, hostname: name, ...(pid === undefined ? {} : { platformId: pid }) };
      if (remote(s)) own.set(id, s);
    }
    return {
      ...(catalogue ? { shared: { index: catalogue, member: memberSet(catalogue.size, positions) } } : {}),
      own: new SystemIndex(own.values()),
      platforms,
      workgroups,
    };
  }

  /**
   * The catalogue as this user sees it, shared with users whose view has the same fingerprint;
   * undefined on 403. A background refresh of the user's view waits for the catalogue's own
   * refresh, so the view is not rebuilt over the old catalogue (which it would then keep alive,
   * beside the new one, for another TTL).
   */
  async #catalogue(vaultUser: string, how: LoadContext): Promise<SystemIndex | undefined> {
    const first = await this.#systemsPage(vaultUser, 0, FIRST_PAGE);
    if (!first) return undefined;
    const fingerprint = createHash('sha256')
      .update(`${first.total ?? ''}\n${first.rows.map((r) => String(pick(r, 'ManagedSystemID'))).join(',')}`)
      .digest('base64url');
    return this.d.catalogues.get(
      fingerprint,
      async (load) => {
        const background = load.background;
        const paced = pacing(load);
        // Each page becomes systems as it arrives, so its parsed rows are garbage at once rather
        // than all held until the last page is in; the index is then built in slices with turns
        // of the event loop between them (searches go on meanwhile, from the old catalogue on a refresh).
        const fetch = async (offset: number, limit: number) =>
          ((await paced(() => this.#systemsPage(vaultUser, offset, limit)))?.rows ?? []).map(toSystem);
        const head = first.rows.map(toSystem);
        const all =
          first.total !== undefined
            ? await restOfCountedList(head, first.total, fetch, {
                parallel: this.#catalogueParallel,
                maxPageSize: background ? REFRESH_PAGE : MAX_CATALOGUE_PAGE,
              })
            : first.rows.length < FIRST_PAGE
              ? head
              : // A vault that does not say the total: read on as for accounts.
                [
                  ...head,
                  ...(await uncountedList((offset, limit) => fetch(FIRST_PAGE + offset, limit), {
                    first: FIRST_PAGE,
                    next: background ? REFRESH_PAGE : LATER_ACCOUNT_PAGE,
                    window: this.#catalogueParallel,
                  })),
                ];
        return SystemIndex.build(all as SystemInfo[]);
      },
      { staleWhileRevalidate: true, awaitRefresh: how.background },
    );
  }

  #accountsPage(vaultUser: string, offset: number, limit: number): Promise<unknown[]> {
    return this.d.limiter.run(async () => {
      const res = await this.d.call(vaultUser, {
        op: 'list_accounts',
        method: 'GET',
        path: 'ManagedAccounts',
        query: { limit, offset },
      });
      // Some Password Safe versions answer "no match" with 404 instead of [].
      if (res.status === 404) return [];
      if (res.status !== 200) throw failure(res, 'list_accounts', 'list managed accounts', { vaultUser });
      return rows(res.body);
    });
  }

  /** A page of ManagedSystems with the total when the vault tells it; undefined when the user may not read systems. */
  #systemsPage(
    vaultUser: string,
    offset: number,
    limit: number,
  ): Promise<{ rows: unknown[]; total: number | undefined } | undefined> {
    return this.d.limiter.run(async () => {
      const res = await this.d.call(vaultUser, {
        op: 'list_systems',
        method: 'GET',
        path: 'ManagedSystems',
        query: { limit, offset },
      });
      if (res.status === 403) return undefined;
      if (res.status !== 200) throw failure(res, 'list_systems', 'list managed systems', { vaultUser });
      return { rows: rows(res.body), total: num(pick(res.body, 'TotalCount')) };
    });
  }
}

function toVaultSystem(s: SystemInfo, view: UserSystems): VaultSystem {
  const p = s.platformId === undefined ? undefined : view.platforms.get(s.platformId);
  const wg = s.workgroupId === undefined ? undefined : view.workgroups.get(s.workgroupId);
  const port = s.port ?? p?.defaultPort;
  return {
    systemId: s.id,
    name: s.name,
    hostname: s.hostname,
    method: p?.sessionType === 'RDP' ? 'rdp' : 'ssh',
    ...(s.ip ? { ip: s.ip } : {}),
    ...(port === undefined ? {} : { port }),
    ...(wg ? { workgroup: wg } : {}),
  };
}
