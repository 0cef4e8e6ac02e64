import type { Clock } from '../../platform/clock.js';
import type { VaultConfig } from '../vault-config.js';
import { ServiceError } from '../../platform/errors.js';
import type { BearerTokenSource } from '../../platform/http/bearer.js';
import { Secret } from '../../platform/secret.js';
import type { PsClient } from './ps-client.js';
import { num, pick } from './ps-json.js';

type OAuthSettings = Extract<VaultConfig['auth'], { method: 'oauth' }>;

/**
 * The client-credentials token of a Password Safe OAuth registration, cached until shortly
 * before it expires; concurrent callers share one mint. `invalidate` after a refused sign-in
 * makes the next call mint again.
 */
export class PsOAuthTokens implements BearerTokenSource {
  #token: { value: Secret; expiresAt: number } | undefined;
  #minting: Promise<Secret> | undefined;

  constructor(
    private readonly auth: OAuthSettings,
    private readonly client: PsClient,
    private readonly clock: Clock,
  ) {}

  async token(signal?: AbortSignal): Promise<Secret> {
    if (this.#token && this.#token.expiresAt > this.clock.now()) return this.#token.value;
    this.#minting ??= this.#mint(signal).finally(() => (this.#minting = undefined));
    return this.#minting;
  }

  invalidate(rejected: Secret): void {
    if (this.#token?.value.equals(rejected)) this.#token = undefined;
  }

  async #mint(signal?: AbortSignal): Promise<Secret> {
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
}
