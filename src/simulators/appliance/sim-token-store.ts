import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { SimAccount } from './sim-accounts.js';

export const MAX_LIVE_TOKENS = 30;

interface LiveToken {
  clientId: string;
  expiresAt: number;
}

export type TokenCheck = { ok: true; account: SimAccount } | { ok: false; reason: 'missing' | 'invalid' | 'expired' };

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The appliance's OAuth state: API accounts and their live tokens. Enforces the documented
 * rules: at most 30 live tokens per account (minting a 31st silently invalidates the oldest) and
 * regenerating an account's secret kills all its tokens. Time comes from `now` so tests can
 * expire tokens without waiting.
 */
export class SimTokenStore {
  readonly #accounts = new Map<string, SimAccount>();
  /** Per account, oldest first. */
  readonly #byAccount = new Map<string, string[]>();
  readonly #tokens = new Map<string, LiveToken>();
  mintCount = 0;

  constructor(
    accounts: SimAccount[],
    private readonly now: () => number,
    private readonly ttlSeconds = 3600,
  ) {
    for (const a of accounts) this.#accounts.set(a.clientId, { ...a });
  }

  account(clientId: string): SimAccount | undefined {
    return this.#accounts.get(clientId);
  }

  accounts(): SimAccount[] {
    return [...this.#accounts.values()];
  }

  /** Client-credentials grant; undefined when the client id or secret is wrong. */
  mint(clientId: string, secret: string): { token: string; expiresIn: number } | undefined {
    const account = this.#accounts.get(clientId);
    if (!account || !timingSafeEqual(digest(secret), digest(account.clientSecret))) return undefined;
    const token = randomBytes(32).toString('base64url');
    const list = this.#byAccount.get(clientId) ?? [];
    list.push(token);
    while (list.length > MAX_LIVE_TOKENS) this.#tokens.delete(list.shift() as string);
    this.#byAccount.set(clientId, list);
    this.#tokens.set(token, { clientId, expiresAt: this.now() + this.ttlSeconds * 1000 });
    this.mintCount++;
    return { token, expiresIn: this.ttlSeconds };
  }

  check(authorization: string | undefined): TokenCheck {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m) return { ok: false, reason: 'missing' };
    const live = this.#tokens.get(m[1] as string);
    if (!live) return { ok: false, reason: 'invalid' };
    if (live.expiresAt <= this.now()) return { ok: false, reason: 'expired' };
    return { ok: true, account: this.#accounts.get(live.clientId) as SimAccount };
  }

  liveTokens(clientId: string): number {
    return (this.#byAccount.get(clientId) ?? []).filter((t) => (this.#tokens.get(t)?.expiresAt ?? 0) > this.now())
      .length;
  }

  /** New secret for the account; every token it holds dies at once. */
  regenerateSecret(clientId: string, newSecret = randomBytes(24).toString('base64url')): string {
    const account = this.#accounts.get(clientId);
    if (!account) throw new Error(`no API account ${clientId}`);
    account.clientSecret = newSecret;
    for (const t of this.#byAccount.get(clientId) ?? []) this.#tokens.delete(t);
    this.#byAccount.set(clientId, []);
    return newSecret;
  }

  /** Forgets every token (an appliance restart keeps them in reality; a failover may not). */
  revokeAll(): void {
    this.#tokens.clear();
    this.#byAccount.clear();
  }

  setPermissions(clientId: string, permissions: Partial<SimAccount['permissions']>): void {
    const account = this.#accounts.get(clientId);
    if (!account) throw new Error(`no API account ${clientId}`);
    account.permissions = { ...account.permissions, ...permissions };
  }
}
