import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import type { Clock } from '../../platform/clock.js';
import type { Health } from '../../platform/health.js';
import type { VaultConfig } from '../vault-config.js';
import { isServiceError, ServiceError, toServiceError } from '../../platform/errors.js';
import { createHttpAgent } from '../../platform/http-agent.js';
import { Secret } from '../../platform/secret.js';
import type { Checkout, CheckoutRequest, VaultAccount, VaultPort, VaultSystem, VaultTarget } from '../vault-port.js';
import { DiscoveryCache, type CacheLookup } from './discovery-cache.js';
import { Limiter } from '../../platform/limiter.js';
import { SystemSearch } from './system-search.js';
import { PsAuthenticator } from './ps-auth.js';
import { isAmbiguousFailure, PsClient, type PsCall, type PsResponse } from './ps-client.js';
import { PsDiscovery } from './ps-discovery.js';
import { failure, num } from './ps-json.js';
import { SessionPool } from './session-pool.js';
import { SshKeyPresence } from './ssh-key-presence.js';
import { vaultMetrics } from './vault-metrics.js';

export interface PasswordSafeVaultDeps {
  log: Logger;
  metrics: Registry;
  clock: Clock;
  /** Tests and benchmarks may pass their own; otherwise one Agent per vault host is created. */
  dispatcher?: Dispatcher;
  /** Jitter source for retry backoff (tests make it deterministic). */
  random?: () => number;
}

const MAX_REASON = 1000;
const MAX_DURATION = 525_600;
/** System catalogues kept: one per distinct view of ManagedSystems (usually one), plus one being replaced. */
const CATALOGUES = 4;
/** Failures of the vault or the way to it (not of one user or request): what readiness reports. */
const VAULT_SIDE: ReadonlySet<string> = new Set([
  'vault.unavailable',
  'vault.tls',
  'proxy.refused',
  'proxy.auth_failed',
  'proxy.unreachable',
  'proxy.unresolvable',
]);

/**
 * VaultPort over the BeyondTrust Password Safe public API v3. Every call runs in a session of
 * the vault user (API key + runas), so Password Safe's own permissions decide what is offered.
 * A 401 on a pooled session is answered by one transparent re-sign-in; secrets are read only at
 * checkout, wrapped in Secret at once, and never cached or logged.
 */
export class PasswordSafeVault implements VaultPort {
  readonly #log: Logger;
  readonly #agent: Dispatcher;
  readonly #ownsAgent: boolean;
  readonly #client: PsClient;
  readonly #auth: PsAuthenticator;
  readonly #pool: SessionPool;
  readonly #discovery: PsDiscovery;
  readonly #search: SystemSearch;
  readonly #keys: SshKeyPresence;
  #closed = false;
  #lastFailure: Health;
  readonly #assetsUnreadable = new Set<string>();

  constructor(
    private readonly config: VaultConfig,
    private readonly deps: PasswordSafeVaultDeps,
  ) {
    this.#log = deps.log.child({ component: 'vault' });
    this.#keys = new SshKeyPresence(deps.clock);
    const metrics = vaultMetrics(deps.metrics);
    this.#ownsAgent = deps.dispatcher === undefined;
    this.#agent =
      deps.dispatcher ??
      createHttpAgent({
        connectTimeoutMs: config.timeouts.connectMs,
        requestTimeoutMs: config.timeouts.requestMs,
        // A connection per concurrent call, never pipelined: a slow vault answer must not hold
        // the calls queued behind it on the same connection.
        connections: config.connections,
        pipelining: 1,
        ...(config.caFile ? { caFile: config.caFile } : {}),
        ...(config.proxy ? { proxy: config.proxy } : {}),
      });
    this.#client = new PsClient(config.url, this.#agent, config.retries, {
      log: this.#log,
      clock: deps.clock,
      metrics,
      ...(deps.random ? { random: deps.random } : {}),
    });
    this.#auth = new PsAuthenticator(config.auth, this.#client, deps.clock);
    this.#pool = new SessionPool({
      maxSessions: config.sessionPool.maxSessions,
      idleMs: config.sessionPool.idleSeconds * 1000,
      clock: deps.clock,
      log: this.#log,
      signIn: (identity, signal) => this.#auth.signIn(identity, signal),
      signOut: (s) => this.#auth.signOut(s),
      onSizeChange: (n) => metrics.sessions.set(n),
    });
    const call = (user: string, c: Omit<PsCall, 'cookie'>) => this.#inSession(user, c);
    const cacheOptions = {
      ttlMs: config.cache.discoveryTtlSeconds * 1000,
      maxStaleMs: config.cache.maxStaleSeconds * 1000,
      maxRefreshes: config.cache.refreshConcurrency,
      clock: deps.clock,
      onLookup: (result: CacheLookup) => metrics.cache.inc({ result }),
      onRefreshError: (key: string, err: unknown) => {
        metrics.cacheRefreshFailures.inc();
        // The key is the vault user and what was listed, never a secret.
        this.#log.warn({ key: key.replace(/\n/g, ' '), err }, 'discovery refresh failed; serving the cached list');
      },
    };
    this.#discovery = new PsDiscovery(
      call,
      new DiscoveryCache({ ...cacheOptions, maxEntries: config.cache.maxEntries }),
      {
        refused: (vaultUser) => this.#assetsRefused(vaultUser),
        answered: (vaultUser) => this.#assetsUnreadable.delete(vaultUser),
      },
    );
    this.#search = new SystemSearch({
      call,
      users: new DiscoveryCache({ ...cacheOptions, maxEntries: config.cache.maxEntries }),
      catalogues: new DiscoveryCache({ ...cacheOptions, maxEntries: CATALOGUES }),
      limiter: new Limiter(config.discovery.pageConcurrency),
      platforms: (user) => this.#discovery.platformsOf(user),
      workgroups: (user) => this.#discovery.workgroupsOf(user),
    });
  }

  /**
   * What works but needs the vault administrator: vault users whose groups lack "Asset
   * Management: read" (Assets/Search answered 403), so endpoints known only by IP get no
   * domain-linked accounts. Shown by `check`, test-settings and the status page.
   */
  get notices(): string[] {
    if (this.#assetsUnreadable.size === 0) return [];
    return [assetsNotice([...this.#assetsUnreadable])];
  }

  /**
   * Whether `probeUser` (default `vault.probeUser`) may search assets: one `Assets/Search` for a
   * documentation address (192.0.2.1, never a real host). undefined when it may, else the notice.
   */
  async assetsProbe(probeUser?: string, signal?: AbortSignal): Promise<string | undefined> {
    const user = probeUser ?? this.config.probeUser ?? '';
    const res = await this.#inSession(user, {
      op: 'search_assets',
      method: 'POST',
      path: 'Assets/Search',
      json: { IPAddress: '192.0.2.1' },
      ...(signal ? { signal } : {}),
    });
    if (res.status === 403) return assetsNotice([user]);
    if (res.status !== 200 && res.status !== 404) throw failure(res, 'search_assets', 'search assets by address');
    return undefined;
  }

  #assetsRefused(vaultUser: string): void {
    if (this.#assetsUnreadable.has(vaultUser)) return;
    // Bounded: the notice names a few users; the log line is written once per user.
    if (this.#assetsUnreadable.size < MAX_NOTICE_USERS) this.#assetsUnreadable.add(vaultUser);
    this.#log.warn({ vaultUser, permission: ASSET_READ }, assetsNotice([vaultUser]));
  }

  /** Why the last call failed for reasons of the vault itself (unreachable, TLS, its proxy), if it did. */
  get lastFailure(): Health {
    return this.#lastFailure;
  }

  /** Runs a call in the vault user's pooled session; a 401 gets one fresh sign-in and one retry. */
  async #inSession(vaultUser: string, call: Omit<PsCall, 'cookie'>): Promise<PsResponse> {
    if (this.#closed)
      throw new ServiceError('service.shutting_down', 'the vault adapter is shutting down', { op: `vault.${call.op}` });
    const identity = this.#auth.identity(vaultUser);
    try {
      let res: PsResponse | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        const session = await this.#pool.acquire(identity, call.signal);
        res = await this.#client.call({ ...call, cookie: session.cookie.reveal() });
        if (res.status !== 401) break;
        this.#pool.invalidate(session);
        this.#log.info({ vaultUser: identity, op: call.op }, 'Password Safe session expired; signing in again');
      }
      this.#lastFailure = undefined;
      return res!;
    } catch (e) {
      if (isServiceError(e) && VAULT_SIDE.has(e.code)) this.#lastFailure = e;
      throw e;
    }
  }

  listAccounts(vaultUser: string, target: VaultTarget, signal?: AbortSignal): Promise<VaultAccount[]> {
    return this.#discovery.listAccounts(vaultUser, target, signal);
  }

  searchSystems(vaultUser: string, query: string, limit: number, signal?: AbortSignal): Promise<VaultSystem[]> {
    // A search's fill is shared with other waiting searches and background refreshes, so no one caller's signal ends it.
    void signal;
    return this.#search.search(vaultUser, query, Math.max(0, limit));
  }

  async checkout(req: CheckoutRequest, signal?: AbortSignal): Promise<Checkout> {
    const { systemId, accountId } = req.account;
    if (!Number.isFinite(req.durationMinutes) || req.durationMinutes < 1) {
      throw new ServiceError('request.bad', `release duration must be at least 1 minute (got ${req.durationMinutes})`, {
        op: 'vault.checkout',
      });
    }
    const durationMinutes = Math.max(
      1,
      Math.min(Math.floor(req.durationMinutes), req.account.maximumReleaseMinutes ?? MAX_DURATION, MAX_DURATION),
    );
    const body = {
      SystemID: systemId,
      AccountID: accountId,
      DurationMinutes: durationMinutes,
      Reason: req.reason.slice(0, MAX_REASON),
      AccessType: this.config.accessType,
      ...(this.config.conflictOption === 'none' ? {} : { ConflictOption: this.config.conflictOption }),
    };
    const facts = { vaultUser: req.vaultUser, systemId, accountId, durationMinutes };
    const what = `release account ${accountId} on system ${systemId}`;
    let requestId: string;
    try {
      const res = await this.#inSession(req.vaultUser, {
        op: 'create_request',
        method: 'POST',
        path: 'Requests',
        json: body,
        idempotent: false,
        ...(signal ? { signal } : {}),
      });
      if (res.status !== 200 && res.status !== 201) throw failure(res, 'create_request', what, facts);
      const id = num(res.body);
      if (id === undefined)
        throw new ServiceError('vault.protocol', 'Password Safe answered a release request without a request id', {
          op: 'vault.create_request',
          details: facts,
        });
      requestId = String(id);
    } catch (e) {
      if (!isAmbiguousFailure(e)) throw e;
      requestId = await this.#recoverRequest(req.vaultUser, systemId, accountId, durationMinutes, e, signal);
    }
    let secrets: Pick<Checkout, 'password' | 'privateKey' | 'passphrase'>;
    try {
      secrets = await this.#readSecrets(req.vaultUser, requestId, req.account, signal);
    } catch (e) {
      if (isServiceError(e, 'vault.approval_pending')) {
        this.#log.info({ ...facts, requestId }, 'release request waits for approval');
        throw new ServiceError(
          'vault.approval_pending',
          `release request ${requestId} for this account is waiting for approval in Password Safe; retry once it is approved`,
          { op: 'vault.checkout', cause: e, details: { ...facts, requestId } },
        );
      }
      // A request whose secret we cannot deliver must not stay released.
      await this.checkin(req.vaultUser, requestId, 'ecm-bridge: credential could not be retrieved').catch(
        (ce: unknown) => this.#log.warn({ ...facts, requestId, err: ce }, 'check-in after failed retrieval failed'),
      );
      throw e;
    }
    // No log line here: the broker logs the one line per checkout, with the lease and session.
    return {
      requestId,
      durationMinutes,
      expiresAt: new Date(this.deps.clock.now() + durationMinutes * 60_000),
      ...secrets,
    };
  }

  /**
   * `POST Requests` is not idempotent: sent twice it makes a second request (or, with
   * ConflictOption none, a 409), and when its answer is lost the request id is unknown. So the
   * client retries it only when the server certainly did not act on it (see `PsCall.idempotent`);
   * after an ambiguous failure we ask Password Safe instead: the vault user's active requests
   * (`GET Requests?status=active`) for this system and account. Password Safe keeps at most one
   * live request per user and account (none → 409, reuse → the same id, renew → replaces it),
   * so a match is the request our POST made (or, with reuse, the one it would have returned).
   * To avoid adopting an older request of the user (made in the console, say), we also require
   * its release window to be the duration we asked for; dates are compared with each other only,
   * never with our clock, so clock skew does not matter. A match is used when the caller still
   * waits, and checked in when it gave up; no match (not sent, still pending approval, or the
   * lookup itself failed) ends in `vault.unavailable`. We never resend the POST blindly.
   */
  async #recoverRequest(
    vaultUser: string,
    systemId: number,
    accountId: number,
    durationMinutes: number,
    cause: ServiceError,
    signal?: AbortSignal,
  ): Promise<string> {
    const facts = { vaultUser, systemId, accountId, durationMinutes };
    this.#log.warn(
      { ...facts, err: cause },
      'release request failed after it may have reached Password Safe; looking for it',
    );
    let found: string | undefined;
    try {
      // Without the caller's signal: when it was cancelled, we still must find (and end) the request.
      found = await this.findRequest(vaultUser, { systemId, accountId }, durationMinutes);
    } catch (e) {
      this.#log.warn({ ...facts, err: e }, 'could not list open release requests after an ambiguous failure');
    }
    if (found === undefined) {
      throw new ServiceError('vault.unavailable', `${cause.message}; no release request was found for it`, {
        op: 'vault.create_request',
        cause,
        details: { ...cause.details, ...facts },
      });
    }
    if (signal?.aborted) {
      await this.checkin(vaultUser, found, 'ecm-bridge: checkout cancelled before its answer arrived').catch(
        (ce: unknown) =>
          this.#log.warn({ ...facts, requestId: found, err: ce }, 'check-in of a recovered request failed'),
      );
      throw cause;
    }
    this.#log.info({ ...facts, requestId: found }, 'recovered the release request whose answer was lost');
    return found;
  }

  /** The newest active request of `vaultUser` for this account whose release window is `durationMinutes` (see #recoverRequest). */
  async findRequest(
    vaultUser: string,
    account: { systemId: number; accountId: number },
    durationMinutes: number,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const facts = { vaultUser, ...account, durationMinutes };
    const res = await this.#inSession(vaultUser, {
      op: 'find_request',
      method: 'GET',
      path: 'Requests',
      query: { status: 'active' },
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 200) throw failure(res, 'find_request', 'list the open release requests', facts);
    const rows = Array.isArray(res.body) ? (res.body as Record<string, unknown>[]) : [];
    const ids = rows
      .filter(
        (r) =>
          num(r.SystemID) === account.systemId &&
          num(r.AccountID) === account.accountId &&
          releasedFor(r) === durationMinutes,
      )
      .map((r) => num(r.RequestID))
      .filter((id): id is number => id !== undefined);
    return ids.length > 0 ? String(Math.max(...ids)) : undefined;
  }

  async #readSecrets(
    vaultUser: string,
    requestId: string,
    account: Pick<VaultAccount, 'systemId' | 'accountId' | 'kind'>,
    signal?: AbortSignal,
  ): Promise<Pick<Checkout, 'password' | 'privateKey' | 'passphrase'>> {
    const read = async (type: 'password' | 'dsskey' | 'passphrase'): Promise<Secret | undefined> => {
      const res = await this.#inSession(vaultUser, {
        op: 'get_credential',
        method: 'GET',
        path: `Credentials/${requestId}`,
        query: { type },
        ...(signal ? { signal } : {}),
      });
      if (res.status === 404) return undefined;
      if (res.status !== 200)
        throw failure(res, 'get_credential', 'read the credential', { vaultUser, requestId, type });
      if (typeof res.body !== 'string')
        throw new ServiceError('vault.protocol', 'Password Safe returned a credential that is not a JSON string', {
          op: 'vault.get_credential',
          details: { requestId, type },
        });
      return res.body === '' ? undefined : new Secret(res.body, `passwordsafe:request/${requestId}`);
    };
    const found = (password: Secret | undefined): Secret => {
      if (password) return password;
      throw new ServiceError(
        'credential.not_found',
        'the release request no longer exists in Password Safe (checked in or expired)',
        { op: 'vault.get_credential', details: { vaultUser, requestId } },
      );
    };
    if (account.kind !== 'ssh-key') return { password: found(await read('password')) };
    const { systemId, accountId } = account;
    const hasKey = this.#keys.known(systemId, accountId);
    if (hasKey !== false) {
      // An SSH account that may hold a key: key, passphrase and (unless it is known to hold a
      // key) password are asked for at once, so a checkout is always two sequential vault
      // rounds. The secret not needed is dropped at once; only whether a key exists is kept.
      const [key, passphrase, password] = await Promise.allSettled([
        read('dsskey'),
        read('passphrase'),
        hasKey ? Promise.resolve(undefined) : read('password'),
      ]);
      const privateKey = settled(key);
      if (privateKey) {
        this.#keys.learn(systemId, accountId, true);
        const phrase = settled(passphrase);
        return { privateKey, ...(phrase ? { passphrase: phrase } : {}) };
      }
      if (!hasKey) {
        const only = found(settled(password));
        this.#keys.learn(systemId, accountId, false);
        return { password: only };
      }
    }
    // Known to hold only a password, or a key that has gone since it was learned (one more round).
    const only = found(await read('password'));
    this.#keys.learn(systemId, accountId, false);
    return { password: only };
  }

  async checkin(vaultUser: string, requestId: string, reason: string, signal?: AbortSignal): Promise<void> {
    // Password Safe request ids are integers; anything else cannot name a live request.
    if (!/^\d+$/.test(requestId)) return;
    const res = await this.#inSession(vaultUser, {
      op: 'checkin',
      method: 'PUT',
      path: `Requests/${requestId}/checkin`,
      json: { Reason: reason.slice(0, MAX_REASON) },
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404 || res.status === 409) {
      this.#log.debug({ vaultUser, requestId, status: res.status }, 'request already checked in or expired');
      return;
    }
    if (res.status !== 200 && res.status !== 204)
      throw failure(res, 'checkin', `check in request ${requestId}`, { vaultUser, requestId });
    // The broker's "lease checked in" is the line of record: one line per check-in at info.
    this.#log.debug({ vaultUser, requestId }, 'credential checked in at the vault');
  }

  async health(probeUser?: string, signal?: AbortSignal): Promise<Health> {
    const user = probeUser ?? this.config.probeUser;
    if (this.config.auth.method === 'apikey' && !user)
      return new ServiceError(
        'config.invalid',
        'no probe user: set vault.probeUser to a Password Safe user the API registration may run as',
        { op: 'vault.health', details: { path: 'vault.probeUser' } },
      );
    try {
      const res = await this.#inSession(user ?? '', {
        op: 'health',
        method: 'GET',
        path: 'Workgroups',
        ...(signal ? { signal } : {}),
      });
      if (res.status !== 200) throw failure(res, 'health', 'list workgroups');
      return undefined;
    } catch (e) {
      return toServiceError(e, 'vault.health');
    }
  }

  /** Signs every pooled session out, then closes the connections. Further calls fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#pool.close();
    this.#closed = true;
    if (this.#ownsAgent) await this.#agent.close();
  }
}

/** The value of a settled read, or its error thrown. */
function settled<T>(r: PromiseSettledResult<T>): T {
  if (r.status === 'rejected') throw r.reason;
  return r.value;
}

/** Minutes between a listed request's release and expiry dates; undefined when unreadable. */
function releasedFor(row: Record<string, unknown>): number | undefined {
  const from = typeof row.RequestReleaseDate === 'string' ? Date.parse(withZone(row.RequestReleaseDate)) : NaN;
  const to = typeof row.ExpiresDate === 'string' ? Date.parse(withZone(row.ExpiresDate)) : NaN;
  return Number.isNaN(from) || Number.isNaN(to) ? undefined : Math.round((to - from) / 60_000);
}

/** Password Safe dates may lack a zone; both ends of a window are read the same way. */
function withZone(d: string): string {
  return /(Z|[+-]\d\d:?\d\d)$/.test(d) ? d : `${d}Z`;
}

const ASSET_READ = 'Asset Management: read';
const MAX_NOTICE_USERS = 20;

/** The sentence shown wherever the missing permission is reported (log, check, test-settings, status). */
export function assetsNotice(vaultUsers: string[]): string {
  return `Password Safe refused Assets/Search (403) for ${vaultUsers.map((u) => `"${u}"`).join(', ')}: a group of the API registration lacks the permission "${ASSET_READ}" (BeyondInsight > Role Based Access > User Management > Groups > Features), so endpoints known only by IP get no domain-linked accounts`;
}
