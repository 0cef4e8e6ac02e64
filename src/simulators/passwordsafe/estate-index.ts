import type { Seed, SeedAccount, SeedSystem } from './seed.js';
import { ServiceError } from '../../platform/errors.js';

export type Platform = Seed['platforms'][number];
export type Workgroup = Seed['workgroups'][number];
export type Registration = Seed['registrations'][number];

export interface SimUser {
  id: number;
  name: string;
  email: string;
  displayName: string;
  groups: string[];
  password?: string;
  sid: string;
}

export interface SimSystem extends Omit<SeedSystem, 'id' | 'platform' | 'workgroup'> {
  id: number;
  platform: Platform;
  workgroup: Workgroup;
}

export interface SimAccount extends Omit<SeedAccount, 'id' | 'system' | 'linkedTo'> {
  id: number;
  system: SimSystem;
  linkedTo: SimSystem[];
  lastChange: number;
}

const lc = (s: string) => s.toLowerCase();

/** Largest explicit id (a loop: spreading 300,000 ids into Math.max overflows the stack). */
function maxId(items: { id?: number | undefined }[]): number {
  let m = 0;
  for (const i of items) if (i.id !== undefined && i.id > m) m = i.id;
  return m;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * The seeded estate, resolved and indexed for lookups by name, IP and id, so a simulator holding
 * 100,000 systems answers filtered queries without scanning. Accounts are mutable (rotation);
 * everything else is fixed after construction.
 */
export class EstateIndex {
  readonly platforms: Platform[];
  readonly workgroups: Workgroup[];
  readonly registrations: Registration[];
  readonly systems: SimSystem[] = [];
  readonly accounts: SimAccount[] = [];
  readonly users: SimUser[] = [];
  readonly groups: Seed['groups'];
  readonly systemById = new Map<number, SimSystem>();
  readonly systemsByName = new Map<string, SimSystem[]>();
  readonly systemsByIp = new Map<string, SimSystem[]>();
  readonly accountById = new Map<number, SimAccount>();
  readonly accountsBySystem = new Map<number, SimAccount[]>();
  /** Target system id → directory accounts linked to it. */
  readonly linkedByTarget = new Map<number, SimAccount[]>();
  readonly userByName = new Map<string, SimUser>();
  readonly #grantCache = new Map<number, Set<number>>();

  constructor(seed: Seed, now: number) {
    this.platforms = seed.platforms;
    this.workgroups = seed.workgroups;
    this.registrations = seed.registrations;
    this.groups = seed.groups;
    const platformByName = new Map(seed.platforms.map((p) => [lc(p.name), p]));
    const workgroupByName = new Map(seed.workgroups.map((w) => [lc(w.name), w]));
    const problems: string[] = [];
    let nextSystemId = maxId(seed.systems) + 1;
    seed.systems.forEach((s, i) => {
      const p = platformByName.get(lc(s.platform));
      const w = workgroupByName.get(lc(s.workgroup));
      if (!p) problems.push(`systems.${i}.platform: unknown platform "${s.platform}"`);
      if (!w) problems.push(`systems.${i}.workgroup: unknown workgroup "${s.workgroup}"`);
      if (!p || !w) return;
      const sys: SimSystem = { ...s, id: s.id ?? nextSystemId++, platform: p, workgroup: w };
      this.systems.push(sys);
      this.systemById.set(sys.id, sys);
      push(this.systemsByName, lc(sys.name), sys);
      if (sys.ip) push(this.systemsByIp, sys.ip, sys);
    });
    let nextAccountId = maxId(seed.accounts) + 1;
    seed.accounts.forEach((a, i) => {
      const sys = this.systemsByName.get(lc(a.system))?.[0];
      if (!sys) return void problems.push(`accounts.${i}.system: unknown system "${a.system}"`);
      const linkedTo: SimSystem[] = [];
      for (const t of a.linkedTo) {
        const target = this.systemsByName.get(lc(t))?.[0];
        if (target) linkedTo.push(target);
        else problems.push(`accounts.${i}.linkedTo: unknown system "${t}"`);
      }
      const acc: SimAccount = { ...a, id: a.id ?? nextAccountId++, system: sys, linkedTo, lastChange: now };
      this.accounts.push(acc);
      this.accountById.set(acc.id, acc);
      push(this.accountsBySystem, sys.id, acc);
      for (const t of linkedTo) push(this.linkedByTarget, t.id, acc);
    });
    const groupNames = new Set(seed.groups.map((g) => lc(g.name)));
    let nextUserId = maxId(seed.users) + 1;
    seed.users.forEach((u, i) => {
      for (const g of u.groups) if (!groupNames.has(lc(g))) problems.push(`users.${i}.groups: unknown group "${g}"`);
      const id = u.id ?? nextUserId++;
      const simUser: SimUser = {
        id,
        name: u.name,
        email: u.email ?? (u.name.includes('@') ? u.name : ''),
        displayName: u.displayName ?? u.name,
        groups: u.groups.map(lc),
        ...(u.password === undefined ? {} : { password: u.password }),
        sid: `S-1-5-21-1004336348-1177238915-682003330-${1000 + id}`,
      };
      this.users.push(simUser);
      this.userByName.set(lc(u.name), simUser);
    });
    if (problems.length > 0) {
      throw new ServiceError('config.invalid', `invalid Password Safe seed:\n  ${problems.join('\n  ')}`, {
        op: 'sim.seed',
      });
    }
  }

  /** Looks a runas user up; `DOMAIN\user` and bare names are tried as given. */
  findUser(name: string): SimUser | undefined {
    return this.userByName.get(lc(name));
  }

  /** Ids of the accounts the user's groups grant (whether or not API-enabled). */
  grantedAccounts(user: SimUser): Set<number> {
    const cached = this.#grantCache.get(user.id);
    if (cached) return cached;
    const ids = new Set<number>();
    for (const g of this.groups) {
      if (!user.groups.includes(lc(g.name))) continue;
      for (const grant of g.grants) {
        const candidates = grant.system
          ? (this.systemsByName.get(lc(grant.system)) ?? []).flatMap((s) => this.accountsBySystem.get(s.id) ?? [])
          : this.accounts.filter((a) => lc(a.system.workgroup.name) === lc(grant.workgroup ?? ''));
        for (const a of candidates) {
          if (grant.account && lc(grant.account) !== lc(a.name)) continue;
          if (grant.system && grant.workgroup && lc(grant.workgroup) !== lc(a.system.workgroup.name)) continue;
          ids.add(a.id);
        }
      }
    }
    this.#grantCache.set(user.id, ids);
    return ids;
  }

  /** API-enabled accounts the user may request: what ManagedAccounts shows them. */
  requestable(user: SimUser, account: SimAccount): boolean {
    return account.apiEnabled && this.grantedAccounts(user).has(account.id);
  }

  maySeeSystems(user: SimUser): boolean {
    return this.groups.some((g) => g.systemsRead && user.groups.includes(lc(g.name)));
  }

  mayReadAssets(user: SimUser): boolean {
    return this.groups.some((g) => (g.assetsRead ?? g.systemsRead) && user.groups.includes(lc(g.name)));
  }
}
