import type { Clock } from '../../platform/clock.js';
import type { VaultConfig } from '../vault-config.js';
import { ServiceError } from '../../platform/errors.js';
import { Secret } from '../../platform/secret.js';
import type { PsClient, PsResponse } from './ps-client.js';
import { checkRunasName } from './runas-name.js';
import { num, pick } from './ps-json.js';
import type { PsSession } from './session-pool.js';

/** With OAuth every session acts as the registration's application user: one pooled identity. */
export const OAUTH_IDENTITY = '(oauth application user)';

/**
 * Signs in and out of Password Safe. API-key registrations sign in *as* the vault user
 * (`runas`), so Password Safe applies that person's permissions; OAuth registrations first obtain
 * a client-credentials token (cached until shortly before it expires) and sign in with it.
 */
export class PsAuthenticator {
  #token: { value: Secret; expiresAt: number } | undefined;
  #minting: Promise<Secret> | undefined;

  constructor(
    private readonly auth: VaultConfig['auth'],
    private readonly client: PsClient,
    private readonly clock: Clock,
  ) {}

  /** The pool key for a vault user. */
  identity(vaultUser: string): string {
    return this.auth.method === 'oauth' ? OAUTH_IDENTITY : vaultUser;
  }

  async signIn(identity: string, signal?: AbortSignal): Promise<PsSession> {
    let res = await this.#signAppin(identity, signal);
    if (res.status === 401 && this.auth.method === 'oauth') {
      // A token revoked server-side: mint a new one, once.
      this.#token = undefined;
      res = await this.#signAppin(identity, signal);
    }
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

  async #signAppin(identity: string, signal?: AbortSignal): Promise<PsResponse> {
    const authorization =
      this.auth.method === 'oauth' ? `Bearer ${(await this.#bearer(signal)).reveal()}` : this.#psAuth(identity);
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

  async #bearer(signal?: AbortSignal): Promise<Secret> {
    if (this.#token && this.#token.expiresAt > this.clock.now()) return this.#token.value;
    this.#minting ??= this.#mint(signal).finally(() => (this.#minting = undefined));
    return this.#minting;
  }

  async #mint(signal?: AbortSignal): Promise<Secret> {
    if (this.auth.method !== 'oauth') throw new Error('unreachable');
    const res = await this.client.call({
      op: 'token',
      method: 'POST',
      path: 'Auth/connect/token',
      form: {
        grant_type: 'client_credentials',
        client_id: this.auth.clientId,
        client_secret: this.auth.clientSecret.reveal(),
      },
      ...(signal ? { signal } : {}),
    });
    if (res.status === 400 || res.status === 401) {
      throw new ServiceError('vault.auth_failed', `Password Safe refused OAuth client "${this.auth.clientId}"`, {
        op: 'vault.token',
        details: { status: res.status },
      });
    }
    const token = pick(res.body, 'access_token');
    const lifetime = num(pick(res.body, 'expires_in')) ?? 3600;
    if (res.status !== 200 || typeof token !== 'string')
      throw new ServiceError(
        'vault.protocol',
        `Password Safe token endpoint answered HTTP ${res.status} without a token`,
        { op: 'vault.token' },
      );
    // Refresh a minute early (or at half-life for short tokens) so a call never carries a dying token.
    const margin = Math.min(60, lifetime / 2) * 1000;
    this.#token = {
      value: new Secret(token, 'passwordsafe:oauth'),
      expiresAt: this.clock.now() + lifetime * 1000 - margin,
    };
    return this.#token.value;
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
