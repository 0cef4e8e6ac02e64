import type { EstateIndex, SimAccount, SimSystem, SimUser } from './estate-index.js';
import { psDate, SimHttpError } from './sim-http-error.js';

const DIRECTORY_PLATFORMS = new Set(['ad', 'ldap', 'aad']);
const lc = (s: string) => s.toLowerCase();

function isDirectoryAccount(a: SimAccount): boolean {
  return DIRECTORY_PLATFORMS.has(lc(a.system.platform.shortName));
}

function paging(q: URLSearchParams): { limit: number; offset: number } {
  const limit = q.has('limit') ? Number(q.get('limit')) : 1000;
  const offset = q.has('offset') ? Number(q.get('offset')) : 0;
  if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(offset) || offset < 0) {
    throw new SimHttpError(400, '"limit and offset must be non-negative integers"');
  }
  return { limit, offset };
}

export function renderAccount(a: SimAccount): Record<string, unknown> {
  return {
    PlatformID: a.system.platform.id,
    SystemId: a.system.id,
    SystemName: a.system.name,
    DomainName: a.domain ?? null,
    AccountId: a.id,
    AccountName: a.name,
    InstanceName: '',
    UserPrincipalName: a.upn ?? null,
    DefaultReleaseDuration: a.defaultReleaseMinutes,
    MaximumReleaseDuration: a.maxReleaseMinutes,
    LastChangeDate: psDate(a.lastChange),
    NextChangeDate: null,
    IsChanging: false,
    ChangeState: 0,
    IsISAAccess: false,
    PreferredNodeID: '00000000-0000-0000-0000-000000000001',
    AccountDescription: a.description ?? null,
  };
}

export function renderSystem(s: SimSystem): Record<string, unknown> {
  return {
    ManagedSystemID: s.id,
    EntityTypeID: 1,
    AssetID: s.id,
    WorkgroupID: s.workgroup.id,
    SystemName: s.name,
    HostName: s.hostName ?? s.name,
    DnsName: s.dnsName ?? null,
    IPAddress: s.ip ?? null,
    InstanceName: '',
    PlatformID: s.platform.id,
    NetBiosName: null,
    Port: s.port ?? s.platform.defaultPort,
    Timeout: 30,
    Description: s.description ?? null,
    ReleaseDuration: s.releaseDuration,
    MaxReleaseDuration: s.maxReleaseDuration,
    ISAReleaseDuration: 120,
    AutoManagementFlag: true,
    RemoteClientType: 'None',
  };
}

/** Accounts the filters could match, drawn from an index instead of a scan when possible. */
function candidates(estate: EstateIndex, user: SimUser, q: URLSearchParams, linked: boolean): SimAccount[] {
  let systems: SimSystem[] | undefined;
  const name = q.get('systemname');
  const ip = q.get('ipaddress');
  const id = q.get('systemid');
  if (name !== null) systems = estate.systemsByName.get(lc(name)) ?? [];
  if (ip !== null) systems = (systems ?? estate.systemsByIp.get(ip) ?? []).filter((s) => s.ip === ip);
  if (id !== null)
    systems = (systems ?? [estate.systemById.get(Number(id))].filter((s) => s !== undefined)).filter(
      (s) => s.id === Number(id),
    );
  if (systems === undefined) {
    const granted = [...estate.grantedAccounts(user)].map((i) => estate.accountById.get(i)!);
    return linked ? granted.filter((a) => a.linkedTo.length > 0) : granted;
  }
  return systems.flatMap((s) => (linked ? estate.linkedByTarget.get(s.id) : estate.accountsBySystem.get(s.id)) ?? []);
}

/**
 * `GET ManagedAccounts`: what the session user may request (API-enabled accounts their groups
 * grant). `type=domainlinked` with system filters selects directory accounts linked to that
 * target. Both `systemName` and `accountName` → one object (404 when none), otherwise an array.
 */
export function managedAccounts(estate: EstateIndex, user: SimUser, q: URLSearchParams, recent: Set<number>): unknown {
  const type = lc(q.get('type') ?? '');
  if (type && !['system', 'domainlinked', 'database', 'cloud', 'application', 'recent'].includes(type)) {
    throw new SimHttpError(400, '"Invalid type"');
  }
  const { limit, offset } = paging(q);
  const accountName = q.get('accountname');
  const workgroup = q.get('workgroupname');
  const linked = type === 'domainlinked';
  let list = candidates(estate, user, q, linked).filter((a) => estate.requestable(user, a));
  if (accountName !== null) list = list.filter((a) => lc(a.name) === lc(accountName));
  if (workgroup !== null) list = list.filter((a) => lc(a.system.workgroup.name) === lc(workgroup));
  if (type === 'system') list = list.filter((a) => !isDirectoryAccount(a));
  if (type === 'database' || type === 'cloud' || type === 'application') list = [];
  if (type === 'recent') list = list.filter((a) => recent.has(a.id));
  list.sort((a, b) => a.id - b.id);
  if (q.has('systemname') && accountName !== null) {
    const one = list[0];
    if (!one) throw new SimHttpError(404, '"Managed Account not found"');
    return renderAccount(one);
  }
  return list.slice(offset, offset + limit).map(renderAccount);
}

/** `GET ManagedSystems`: without `limit` an array, with `limit` `{TotalCount, Data}`. */
export function managedSystems(estate: EstateIndex, user: SimUser, q: URLSearchParams): unknown {
  if (!estate.maySeeSystems(user))
    throw new SimHttpError(403, '"4031 - User does not have permission to view managed systems"');
  const name = q.get('name');
  const list = name === null ? estate.systems : (estate.systemsByName.get(lc(name)) ?? []);
  if (!q.has('limit')) return list.map(renderSystem);
  const { limit, offset } = paging(q);
  return { TotalCount: list.length, Data: list.slice(offset, offset + limit).map(renderSystem) };
}

/**
 * Every managed system here stands on an asset of the same id (`AssetID` in its ManagedSystems
 * row), as Password Safe makes one when a system is added by address.
 */
function renderAsset(s: SimSystem): Record<string, unknown> {
  return {
    WorkgroupID: s.workgroup.id,
    AssetID: s.id,
    AssetName: s.name,
    DnsName: s.dnsName ?? s.name,
    DomainName: null,
    IPAddress: s.ip ?? '',
    MacAddress: null,
    AssetType: s.platform.name,
    OperatingSystem: s.platform.name,
    CreateDate: psDate(0),
    LastUpdateDate: psDate(0),
  };
}

/**
 * `POST Assets/Search` (Asset Management read): every given criterion must hold (names compared
 * case-insensitively); `IPAddress` is one address or a comma-separated list (Password Safe also
 * takes ranges and CIDR blocks, which the simulator refuses with 400). Paged like ManagedSystems.
 */
export function searchAssets(estate: EstateIndex, user: SimUser, body: Record<string, unknown>, q: URLSearchParams) {
  if (!estate.mayReadAssets(user)) throw new SimHttpError(403, '"4031 - User does not have permission to read assets"');
  const text = (k: string) => {
    const v = Object.entries(body).find(([key]) => lc(key) === lc(k))?.[1];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const ip = text('IPAddress');
  const name = text('AssetName');
  const dns = text('DnsName');
  if (ip === undefined && name === undefined && dns === undefined)
    throw new SimHttpError(400, '"At least one search criterion is required"');
  const ips = ip?.split(',').map((i) => i.trim());
  if (ips?.some((i) => !/^[\d.]+$|^[\da-f:]+$/i.test(i)))
    throw new SimHttpError(400, '"IP ranges and CIDR blocks are not simulated"');
  let list = ips ? ips.flatMap((i) => estate.systemsByIp.get(i) ?? []) : estate.systems;
  if (name !== undefined) list = list.filter((s) => lc(s.name) === lc(name));
  if (dns !== undefined) list = list.filter((s) => lc(s.dnsName ?? s.name) === lc(dns));
  if (!q.has('limit')) return list.map(renderAsset);
  const { limit, offset } = paging(q);
  return { TotalCount: list.length, Data: list.slice(offset, offset + limit).map(renderAsset) };
}

/** `GET Assets/{id}/ManagedSystems` (System Management read): the managed systems on that asset. */
export function assetSystems(estate: EstateIndex, user: SimUser, assetId: string): unknown {
  if (!estate.maySeeSystems(user))
    throw new SimHttpError(403, '"4031 - User does not have permission to view managed systems"');
  const s = estate.systemById.get(Number(assetId));
  if (!s) throw new SimHttpError(404, '"Asset not found"');
  return [renderSystem(s)];
}

export function platforms(estate: EstateIndex): unknown {
  return estate.platforms.map((p) => ({
    PlatformID: p.id,
    Name: p.name,
    ShortName: p.shortName,
    PortFlag: p.defaultPort !== null,
    DefaultPort: p.defaultPort,
    DefaultSessionType: p.sessionType,
  }));
}

export function workgroups(estate: EstateIndex): unknown {
  return estate.workgroups.map((w) => ({
    OrganizationID: '00000000-0000-0000-0000-000000000000',
    ID: w.id,
    Name: w.name,
  }));
}
