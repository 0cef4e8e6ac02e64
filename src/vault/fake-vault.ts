import { systemClock, type Clock } from '../platform/clock.js';
import { ServiceError } from '../platform/errors.js';
import type { Health } from '../platform/health.js';
import { Secret } from '../platform/secret.js';
import type { Checkout, CheckoutRequest, VaultAccount, VaultPort, VaultSystem, VaultTarget } from './vault-port.js';

/** An account of the fake vault: what the port returns plus how it matches and its secret. */
export interface FakeAccount extends VaultAccount {
  /** Extra lower-case names and bare IPs the account's system answers to (besides systemName). */
  names?: string[];
  ips?: string[];
  password?: string;
  privateKey?: string;
  passphrase?: string;
}

export interface FakeRequest {
  requestId: string;
  vaultUser: string;
  systemId: number;
  accountId: number;
  durationMinutes: number;
  reason: string;
  expiresAt: Date;
  checkedIn: boolean;
  checkinReason?: string;
}

type Method = 'listAccounts' | 'checkout' | 'checkin' | 'searchSystems' | 'health' | 'findRequest';

/**
 * In-memory VaultPort for unit tests. Accounts and systems are granted per vault user (a user
 * sees only what was granted to them, as in Password Safe); every checkout gets a fresh request
 * id and is remembered so tests can assert check-ins; `failNext` injects errors per method.
 */
export class FakeVault implements VaultPort {
  readonly #accounts = new Map<string, FakeAccount[]>();
  readonly #systems = new Map<string, VaultSystem[]>();
  readonly #failures = new Map<Method, Error[]>();
  readonly requests = new Map<string, FakeRequest>();
  readonly calls: { method: Method; vaultUser?: string; requestId?: string }[] = [];
  #nextRequest = 1000;
  closed = false;
  /** `reuse`: a second checkout of an account the user still holds returns the open request (Password Safe ConflictOption reuse). */
  conflictOption: 'reuse' | 'new' = 'new';

  constructor(private readonly clock: Clock = systemClock) {}

  /** Grants accounts to a vault user (keys are case-insensitive, like Password Safe user names). */
  grant(vaultUser: string, ...accounts: FakeAccount[]): this {
    const key = vaultUser.toLowerCase();
    this.#accounts.set(key, [...(this.#accounts.get(key) ?? []), ...accounts]);
    return this;
  }

  grantSystems(vaultUser: string, ...systems: VaultSystem[]): this {
    const key = vaultUser.toLowerCase();
    this.#systems.set(key, [...(this.#systems.get(key) ?? []), ...systems]);
    return this;
  }

  /** The next call of `method` throws `error` (queued: call repeatedly for several failures). */
  failNext(method: Method, error: Error): this {
    this.#failures.set(method, [...(this.#failures.get(method) ?? []), error]);
    return this;
  }

  openRequests(): FakeRequest[] {
    return [...this.requests.values()].filter((r) => !r.checkedIn);
  }

  async listAccounts(vaultUser: string, target: VaultTarget): Promise<VaultAccount[]> {
    this.#enter('listAccounts', vaultUser);
    return (this.#accounts.get(vaultUser.toLowerCase()) ?? [])
      .filter(
        (a) =>
          [a.systemName.toLowerCase(), ...(a.names ?? [])].some((n) => target.names.includes(n)) ||
          (a.ips ?? []).some((ip) => target.ips.includes(ip)),
      )
      .map(({ names: _n, ips: _i, password: _p, privateKey: _k, passphrase: _pp, ...account }) => account);
  }

  async findRequest(vaultUser: string, account: { systemId: number; accountId: number }, durationMinutes: number) {
    this.#enter('findRequest', vaultUser);
    return this.openRequests().findLast(
      (r) =>
        r.vaultUser === vaultUser &&
        r.systemId === account.systemId &&
        r.accountId === account.accountId &&
        r.durationMinutes === durationMinutes,
    )?.requestId;
  }

  async checkout(request: CheckoutRequest): Promise<Checkout> {
    this.#enter('checkout', request.vaultUser);
    const account = (this.#accounts.get(request.vaultUser.toLowerCase()) ?? []).find(
      (a) => a.systemId === request.account.systemId && a.accountId === request.account.accountId,
    );
    if (!account)
      throw new ServiceError('vault.forbidden', 'the vault user may not request this account', {
        op: 'vault.checkout',
      });
    const open = this.openRequests().find(
      (r) => r.vaultUser === request.vaultUser && r.accountId === account.accountId && r.systemId === account.systemId,
    );
    if (open && this.conflictOption === 'reuse')
      return {
        requestId: open.requestId,
        durationMinutes: open.durationMinutes,
        expiresAt: open.expiresAt,
        ...this.#secrets(account),
      };
    const requestId = String(this.#nextRequest++);
    const expiresAt = new Date(this.clock.now() + request.durationMinutes * 60_000);
    this.requests.set(requestId, {
      requestId,
      vaultUser: request.vaultUser,
      systemId: account.systemId,
      accountId: account.accountId,
      durationMinutes: request.durationMinutes,
      reason: request.reason,
      expiresAt,
      checkedIn: false,
    });
    return { requestId, durationMinutes: request.durationMinutes, expiresAt, ...this.#secrets(account) };
  }

  #secrets(account: FakeAccount): Pick<Checkout, 'password' | 'privateKey' | 'passphrase'> {
    return {
      ...(account.password !== undefined && { password: new Secret(account.password) }),
      ...(account.privateKey !== undefined && { privateKey: new Secret(account.privateKey) }),
      ...(account.passphrase !== undefined && { passphrase: new Secret(account.passphrase) }),
    };
  }

  async checkin(vaultUser: string, requestId: string, reason: string): Promise<void> {
    this.#enter('checkin', vaultUser, requestId);
    const r = this.requests.get(requestId);
    if (r && !r.checkedIn) Object.assign(r, { checkedIn: true, checkinReason: reason });
  }

  async searchSystems(vaultUser: string, query: string, limit: number): Promise<VaultSystem[]> {
    this.#enter('searchSystems', vaultUser);
    const q = query.toLowerCase();
    return (this.#systems.get(vaultUser.toLowerCase()) ?? [])
      .filter((s) => [s.name, s.hostname, s.ip ?? ''].some((f) => f.toLowerCase().includes(q)))
      .slice(0, limit);
  }

  async health(): Promise<Health> {
    this.#enter('health');
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  #enter(method: Method, vaultUser?: string, requestId?: string): void {
    this.calls.push({
      method,
      ...(vaultUser !== undefined && { vaultUser }),
      ...(requestId !== undefined && { requestId }),
    });
    const queued = this.#failures.get(method);
    const error = queued?.shift();
    if (error) throw error;
  }
}
