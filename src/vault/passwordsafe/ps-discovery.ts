import { ServiceError } from '../../platform/errors.js';
import type { VaultAccount, VaultTarget } from '../vault-port.js';
import type { PsCall, PsResponse } from './ps-client.js';
import type { DiscoveryCache } from './discovery-cache.js';
import { failure, num, pick, rows, str } from './ps-json.js';

/** Who may not search assets: the adapter's log, `check`, test-settings and the status page. */
export interface AssetReadWatch {
  refused(vaultUser: string): void;
  answered(vaultUser: string): void;
}

/** Runs one call in `vaultUser`'s session (signing in, and once more after a 401). */
export type SessionCall = (vaultUser: string, call: Omit<PsCall, 'cookie'>) => Promise<PsResponse>;

const PAGE = 1000;
const lc = (s: string) => s.toLowerCase();
const unique = <T>(xs: T[]) => [...new Set(xs)];
const isIp = (s: string) => /^[\d.]+$|:/.test(s);

export interface PlatformInfo {
  sessionType: 'RDP' | 'SSH' | null;
  defaultPort?: number;
}

export interface SystemInfo {
  id: number;
  name: string;
  hostname: string;
  ip?: string;
  platformId?: number;
  port?: number;
  workgroupId?: number;
}

/**
 * Read-only discovery as a vault user: the accounts offered for a target, and the RDP/SSH systems
 * for Jump item search. The number of calls depends on the target's names and addresses, never
 * on how many accounts match (no per-result calls), and results are cached per vault user.
 */
export class PsDiscovery {
  constructor(
    private readonly call: SessionCall,
    private readonly cache: DiscoveryCache,
    /** Told whether `Assets/Search` was refused (403) or answered, per vault user. */
    private readonly assets: AssetReadWatch = { refused: () => undefined, answered: () => undefined },
  ) {}

  /**
   * Local accounts on systems named like the target (its names, and the host part of its FQDNs)
   * or at its IPs, plus directory accounts domain-linked to it. A system found only through a
   * derived short name must not contradict the target: if its DNS name is another FQDN
   * (db01.dmz... for a target db01.corp...), it is a different host and is left out.
   */
  async listAccounts(vaultUser: string, target: VaultTarget, signal?: AbortSignal): Promise<VaultAccount[]> {
    const given = unique(target.names.map((n) => lc(n.trim())).filter((n) => n !== ''));
    const ips = unique(target.ips.map((i) => i.trim()).filter((i) => i !== ''));
    if (given.length === 0 && ips.length === 0) return [];
    const names = unique([...given, ...given.filter((n) => n.includes('.') && !isIp(n)).map((n) => n.split('.')[0]!)]);
    const key = `${vaultUser}\naccounts\n${given.join(',')}\n${ips.join(',')}`;
    return this.cache.get(key, async () => {
      // Domain-linked accounts can only be asked for by system name: with an address alone, the
      // vault says which managed systems stand at it, and their names are asked for instead.
      const atIps = given.length === 0 ? await this.#systemsAt(vaultUser, ips, signal) : [];
      const linkedTargets = unique([...names, ...atIps.map((s) => lc(s.name))]);
      const [local, linkedPerName, systemsPerName, platforms, workgroups] = await Promise.all([
        Promise.all([
          ...names.map((n) => this.#accounts(vaultUser, { systemName: n }, signal)),
          ...ips.map((ip) => this.#accounts(vaultUser, { ipAddress: ip }, signal)),
        ]),
        Promise.all(
          linkedTargets.map((n) => this.#accounts(vaultUser, { type: 'domainlinked', systemName: n }, signal)),
        ),
        Promise.all(names.map((n) => this.#systems(vaultUser, { name: n }, signal))),
        this.#platforms(vaultUser, signal),
        this.#workgroups(vaultUser, signal),
      ]);
      const systems = new Map<number, SystemInfo>();
      for (const s of [...systemsPerName.flat(), ...atIps]) systems.set(s.id, s);
      // Systems matched only by IP are not among the named ones: one lookup per such system.
      const unnamed = unique(
        local
          .flat()
          .filter((r) => !systems.has(num(pick(r, 'SystemId')) ?? -1))
          .map((r) => String(pick(r, 'SystemName') ?? '')),
      );
      for (const s of (
        await Promise.all(unnamed.filter((n) => n !== '').map((n) => this.#systems(vaultUser, { name: n }, signal)))
      ).flat())
        systems.set(s.id, s);
      const isTarget = (s: SystemInfo | undefined, name: string): boolean => {
        if (given.includes(lc(name)) || !s) return true;
        if ((s.ip && ips.includes(s.ip)) || given.includes(lc(s.hostname))) return true;
        return !s.hostname.includes('.');
      };
      const workgroupOf = (s: SystemInfo | undefined) =>
        s?.workgroupId === undefined ? undefined : workgroups.get(s.workgroupId);
      const out = new Map<string, VaultAccount>();
      for (const r of local.flat()) {
        const a = toAccount(r, 'local', platforms);
        const s = systems.get(a.systemId);
        if (!isTarget(s, a.systemName)) continue;
        const wg = workgroupOf(s);
        out.set(`${a.systemId}/${a.accountId}`, wg ? { ...a, workgroup: wg } : a);
      }
      linkedTargets.forEach((n, i) => {
        const targetSystem = [...(systemsPerName[i] ?? []), ...atIps].find((s) => lc(s.name) === n);
        if (!isTarget(targetSystem, n)) return;
        const wg = workgroupOf(targetSystem);
        for (const r of linkedPerName[i] ?? []) {
          const a = toAccount(r, 'domain-linked', platforms);
          const k = `${a.systemId}/${a.accountId}`;
          if (!out.has(k)) out.set(k, wg ? { ...a, workgroup: wg } : a);
        }
      });
      return [...out.values()].sort(
        (a, b) =>
          (a.source === b.source ? 0 : a.source === 'local' ? -1 : 1) ||
          a.systemName.localeCompare(b.systemName) ||
          a.accountName.localeCompare(b.accountName),
      );
    });
  }

  async #accounts(vaultUser: string, query: Record<string, string | number>, signal?: AbortSignal): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const res = await this.call(vaultUser, {
        op: 'list_accounts',
        method: 'GET',
        path: 'ManagedAccounts',
        query: { ...query, limit: PAGE, offset },
        ...(signal ? { signal } : {}),
      });
      // Some Password Safe versions answer "no match" with 404 instead of [].
      if (res.status === 404) return out;
      if (res.status !== 200) throw failure(res, 'list_accounts', 'list managed accounts', { vaultUser });
      const page = rows(res.body);
      out.push(...page);
      if (page.length < PAGE) return out;
    }
  }

  /** Managed systems by exact name; [] when the user may not read systems (403). */
  async #systems(vaultUser: string, query: { name: string }, signal?: AbortSignal): Promise<SystemInfo[]> {
    const res = await this.call(vaultUser, {
      op: 'list_systems',
      method: 'GET',
      path: 'ManagedSystems',
      query,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 403 || res.status === 404) return [];
    if (res.status !== 200) throw failure(res, 'list_systems', 'list managed systems', { vaultUser });
    return rows(res.body).map(toSystem);
  }

  /** Platforms by id as `vaultUser` sees them (cached). */
  platformsOf(vaultUser: string): Promise<Map<number, PlatformInfo>> {
    return this.#platforms(vaultUser);
  }

  /** Workgroup names by id as `vaultUser` sees them (cached). */
  workgroupsOf(vaultUser: string): Promise<Map<number, string>> {
    return this.#workgroups(vaultUser);
  }

  #platforms(vaultUser: string, signal?: AbortSignal): Promise<Map<number, PlatformInfo>> {
    return this.cache.get(`${vaultUser}\nplatforms`, async () => {
      const res = await this.call(vaultUser, {
        op: 'platforms',
        method: 'GET',
        path: 'Platforms',
        ...(signal ? { signal } : {}),
      });
      if (res.status !== 200) throw failure(res, 'platforms', 'list platforms', { vaultUser });
      const m = new Map<number, PlatformInfo>();
      for (const p of rows(res.body)) {
        const id = num(pick(p, 'PlatformID'));
        const t = str(pick(p, 'DefaultSessionType'))?.toUpperCase();
        const port = num(pick(p, 'DefaultPort'));
        if (id !== undefined)
          m.set(id, {
            sessionType: t === 'RDP' || t === 'SSH' ? t : null,
            ...(port === undefined ? {} : { defaultPort: port }),
          });
      }
      return m;
    });
  }

  #workgroups(vaultUser: string, signal?: AbortSignal): Promise<Map<number, string>> {
    return this.cache.get(`${vaultUser}\nworkgroups`, async () => {
      const res = await this.call(vaultUser, {
        op: 'workgroups',
        method: 'GET',
        path: 'Workgroups',
        ...(signal ? { signal } : {}),
      });
      if (res.status !== 200) throw failure(res, 'workgroups', 'list workgroups', { vaultUser });
      const m = new Map<number, string>();
      for (const w of rows(res.body)) {
        const id = num(pick(w, 'ID'));
        const name = str(pick(w, 'Name'));
        if (id !== undefined && name) m.set(id, name);
      }
      return m;
    });
  }

  /**
   * The managed systems at these addresses: `POST Assets/Search` by IP, then each asset's
   * systems. [] when the user may not read assets or systems (403): the lookup by name is all there is then.
   */
  async #systemsAt(vaultUser: string, ips: string[], signal?: AbortSignal): Promise<SystemInfo[]> {
    if (ips.length === 0) return [];
    const found = await this.call(vaultUser, {
      op: 'search_assets',
      method: 'POST',
      path: 'Assets/Search',
      json: { IPAddress: ips.join(',') },
      ...(signal ? { signal } : {}),
    });
    // 403: the user's groups lack "Asset Management: read". Not fatal (the lookup by name still
    // works) but the IP-only endpoints lose their domain-linked accounts: the watch makes it loud.
    if (found.status === 403) {
      this.assets.refused(vaultUser);
      return [];
    }
    if (found.status === 404) return [];
    if (found.status !== 200) throw failure(found, 'search_assets', 'search assets by address', { vaultUser });
    this.assets.answered(vaultUser);
    const assetIds = unique(rows(found.body).map((a) => num(pick(a, 'AssetID'))));
    const perAsset = await Promise.all(
      assetIds
        .filter((id) => id !== undefined)
        .map(async (id) => {
          const res = await this.call(vaultUser, {
            op: 'list_systems',
            method: 'GET',
            path: `Assets/${id}/ManagedSystems`,
            ...(signal ? { signal } : {}),
          });
          if (res.status === 403 || res.status === 404) return [];
          if (res.status !== 200)
            throw failure(res, 'list_systems', 'list the managed systems of an asset', { vaultUser });
          return rows(res.body).map(toSystem);
        }),
    );
    return perAsset.flat().filter((s) => s.ip === undefined || ips.includes(s.ip));
  }
}

function toAccount(r: unknown, source: VaultAccount['source'], platforms: Map<number, PlatformInfo>): VaultAccount {
  const systemId = num(pick(r, 'SystemId'));
  const accountId = num(pick(r, 'AccountId'));
  if (systemId === undefined || accountId === undefined) {
    throw new ServiceError('vault.protocol', 'Password Safe listed a managed account without SystemId/AccountId', {
      op: 'vault.list_accounts',
    });
  }
  const platformId = num(pick(r, 'PlatformID'));
  const domain = str(pick(r, 'DomainName'));
  const def = num(pick(r, 'DefaultReleaseDuration'));
  const max = num(pick(r, 'MaximumReleaseDuration'));
  return {
    systemId,
    systemName: String(pick(r, 'SystemName') ?? systemId),
    accountId,
    accountName: String(pick(r, 'AccountName') ?? accountId),
    source,
    // The list does not say whether an account holds a key; SSH platforms are offered as key
    // accounts and checkout falls back to the password when the vault has no key.
    kind: platformId !== undefined && platforms.get(platformId)?.sessionType === 'SSH' ? 'ssh-key' : 'password',
    ...(domain ? { domainName: domain } : {}),
    ...(def === undefined ? {} : { defaultReleaseMinutes: def }),
    ...(max === undefined ? {} : { maximumReleaseMinutes: max }),
  };
}

export function toSystem(r: unknown): SystemInfo {
  const id = num(pick(r, 'ManagedSystemID'));
  if (id === undefined)
    throw new ServiceError('vault.protocol', 'Password Safe listed a managed system without ManagedSystemID', {
      op: 'vault.list_systems',
    });
  const name = String(pick(r, 'SystemName') ?? id);
  const ip = str(pick(r, 'IPAddress'));
  const platformId = num(pick(r, 'PlatformID'));
  const port = num(pick(r, 'Port'));
  const workgroupId = num(pick(r, 'WorkgroupID'));
  return {
    id,
    name,
    hostname: str(pick(r, 'DnsName')) ?? str(pick(r, 'HostName')) ?? name,
    ...(ip ? { ip } : {}),
    ...(platformId === undefined ? {} : { platformId }),
    ...(port === undefined ? {} : { port }),
    ...(workgroupId === undefined ? {} : { workgroupId }),
  };
}
