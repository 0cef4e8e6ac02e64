import type { Clock } from '../../platform/clock.js';
import type { VaultConfig } from '../vault-config.js';
import { ServiceError } from '../../platform/errors.js';
import { withBearer } from '../../platform/http/bearer.js';
import { Secret } from '../../platform/secret.js';
import type { PsClient, PsResponse } from './ps-client.js';
import { checkRunasName } from './runas-name.js';
import { num, pick } from './ps-json.js';
import { PsOAuthTokens } from './ps-oauth-tokens.js';
import type { PsSession } from './session-pool.js';

/** With OAuth every session acts as the registration's application user: one pooled identity. */
export const OAUTH_IDENTITY = '(oauth application user)';

/**
 * Signs in and out of Password Safe. API-key registrations sign in *as* the vault user
 * (`runas`), so Password Safe applies that person's permissions; OAuth registrations first obtain
 * a client-credentials token (cached until shortly before it expires) and sign in with it.
 */
export class PsAuthenticator {
  readonly #tokens: PsOAuthTokens | undefined;

  constructor(
    private readonly auth: VaultConfig['auth'],
    private readonly client: PsClient,
    private readonly clock: Clock,
  ) {
    this.#tokens = auth.method === 'oauth' ? new PsOAuthTokens(auth, client, clock) : undefined;
  }

  /** The pool key for a vault user. */
  identity(vaultUser: string): string {
    return this.auth.method === 'oauth' ? OAUTH_IDENTITY : vaultUser;
  }

  async signIn(identity: string, signal?: AbortSignal): Promise<PsSession> {
    const signAppin = (authorization: string) => this.#signAppin(authorization, signal);
    // OAuth: a token revoked server-side is dropped and minted again, once.
    const res = this.#tokens
      ? await withBearer(this.#tokens, signAppin, (r) => r.status === 401, signal)
      : await signAppin(this.#psAuth(identity));
    if (res.status === 401) {
      throw new ServiceError(
        'vault.auth_failed',
        this.auth.method === 'oauth'
          ? 'Password Safe refused the OAuth sign-in (check the client registration and its user)'
          : `Password Safe refused sign-in as vault user "${identity}" (unknown user, not in a group of the API registration, wrong key, or source address not allowed)`,
        { op: 'vault.sign_in', details: { vaultUser: identity, status: 401 } },
      );
    }
    if (res.status === 403)
      throw new ServiceError('vault.auth_failed', 'Password Safe refused sign-in: licence invalid (403)', {
        op: 'vault.sign_in',
        details: { status: 403 },
      });
    if (res.status === 410)
      throw new ServiceError('vault.protocol', 'Password Safe has API version 3 disabled (410)', {
        op: 'vault.sign_in',
        details: { status: 410 },
      });
    if (res.status !== 200)
      throw new ServiceError('vault.protocol', `Password Safe answered sign-in with HTTP ${res.status}`, {
        op: 'vault.sign_in',
        details: { status: res.status },
      });
    const cookie = sessionCookie(res.headers['set-cookie']);
    const userId = num(pick(res.body, 'UserId'));
    if (!cookie || userId === undefined)
      throw new ServiceError('vault.protocol', 'Password Safe sign-in gave no session cookie or user id', {
        op: 'vault.sign_in',
      });
    return { identity, cookie, userId, lastUsed: this.clock.now() };
  }

  #signAppin(authorization: string, signal?: AbortSignal): Promise<PsResponse> {
    return this.client.call({
      op: 'sign_in',
      method: 'POST',
      path: 'Auth/SignAppin',
      authorization,
      ...(signal ? { signal } : {}),
    });
  }

  #psAuth(runas: string): string {
    if (this.auth.method !== 'apikey') throw new Error('unreachable');
    checkRunasName(runas);
    const pwd = this.auth.runasPassword ? ` pwd=[${this.auth.runasPassword.reveal()}];` : '';
    return `PS-Auth key=${this.auth.apiKey.reveal()}; runas=${runas};${pwd}`;
  }

  async signOut(session: PsSession): Promise<void> {
    await this.client.call({
      op: 'sign_out',
      method: 'POST',
      path: 'Auth/Signout',
      cookie: session.cookie.reveal(),
      retry: false,
    });
  }
}

/** `name=value` pairs of the Set-Cookie headers, as one Cookie header value. */
function sessionCookie(setCookie: string | string[] | undefined): Secret | undefined {
  const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const pairs = list.map((c) => c.split(';')[0]?.trim()).filter((p): p is string => !!p && p.includes('='));
  return pairs.length > 0 ? new Secret(pairs.join('; '), 'passwordsafe:session') : undefined;
}
