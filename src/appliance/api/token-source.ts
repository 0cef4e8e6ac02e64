import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import type { Clock } from '../../platform/clock.js';
import { ServiceError } from '../../platform/errors.js';
import { parseRetryAfter } from '../../platform/http/retry-after.js';
import { transportServiceError } from '../../platform/http/transport-errors.js';
import { Secret } from '../../platform/secret.js';
import type { AccessTokenProvider } from './access-token.js';

export interface TokenSourceOptions {
  /** Site or node origin, e.g. `https://access.example.com`. */
  baseUrl: string;
  clientId: string;
  clientSecret: Secret;
  /** undici Agent built with the site's CA and timeouts (createHttpAgent). */
  dispatcher: Dispatcher;
  clock: Clock;
  log: Logger;
  /** Site name, for logs and errors. */
  site: string;
  /** Refresh this long before expiry (default 5 min; at most half the lifetime). */
  refreshMarginMs?: number;
}

interface Cached {
  token: Secret;
  refreshAt: number;
  expiresAt: number;
}

/**
 * OAuth client-credentials token of one API account on one site origin. The token is cached for
 * the process and refreshed ~5 minutes before expiry; concurrent callers share one mint
 * (single-flight), so a process never spends more than one of the account's 30 live tokens at a
 * time. `invalidate` after a 401 (see `withBearer`) makes the next call re-mint. A mint is never
 * retried here: a lost answer would spend one of those 30 tokens, and every caller already has a
 * retry of its own (the clients' `withRetries`, the link's reconnect backoff), which a 429/503
 * Retry-After (in `details.retryAfterMs`) feeds. Tokens are never logged.
 */
export class OAuthTokenSource implements AccessTokenProvider {
  #cached: Cached | undefined;
  #inflight: Promise<Secret> | undefined;
  /** Tokens minted by this source (metrics and tests). */
  minted = 0;

  constructor(private readonly o: TokenSourceOptions) {}

  token(signal?: AbortSignal): Promise<Secret> {
    const c = this.#cached;
    if (c && this.o.clock.now() < c.refreshAt) return Promise.resolve(c.token);
    // Single-flight: every caller waits on the same mint; one caller's abort does not cancel it.
    this.#inflight ??= this.#mint().finally(() => (this.#inflight = undefined));
    if (!signal) return this.#inflight;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) return reject(signal.reason);
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    // The listener goes when the race settles: long-lived signals must not collect one per call.
    return Promise.race([this.#inflight, aborted]).finally(() => {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    });
  }

  invalidate(rejected: Secret): void {
    if (this.#cached?.token.equals(rejected)) this.#cached = undefined;
  }

  /** When the cached token expires (ms epoch), if one is cached. */
  get expiresAt(): number | undefined {
    return this.#cached?.expiresAt;
  }

  async #mint(): Promise<Secret> {
    const url = `${this.o.baseUrl}/oauth2/token`;
    const basic = Buffer.from(`${this.o.clientId}:${this.o.clientSecret.reveal()}`).toString('base64');
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: 'POST',
        dispatcher: this.o.dispatcher,
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: 'grant_type=client_credentials',
      });
    } catch (e) {
      throw transportError(e, this.o.baseUrl, this.o.site, 'appliance.oauth');
    }
    const text = await res.body.text();
    if (res.statusCode === 400 || res.statusCode === 401) {
      throw new ServiceError(
        'appliance.auth_failed',
        `site ${this.o.site}: the appliance refused the OAuth client credentials of API account ${this.o.clientId} (${res.statusCode})`,
        {
          op: 'appliance.oauth',
          details: { site: this.o.site, status: res.statusCode },
        },
      );
    }
    if (res.statusCode !== 200)
      throw unavailable(
        this.o.site,
        'appliance.oauth',
        res.statusCode,
        parseRetryAfter(res.headers['retry-after'], this.o.clock.now()),
      );
    let json: { access_token?: unknown; expires_in?: unknown };
    try {
      json = JSON.parse(text) as typeof json;
    } catch {
      json = {};
    }
    if (typeof json.access_token !== 'string' || json.access_token === '') {
      throw new ServiceError(
        'appliance.protocol',
        `site ${this.o.site}: /oauth2/token answered 200 without an access_token`,
        { op: 'appliance.oauth' },
      );
    }
    const lifetimeMs = (typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 3600) * 1000;
    const margin = Math.min(this.o.refreshMarginMs ?? 300_000, lifetimeMs / 2);
    const now = this.o.clock.now();
    const token = new Secret(json.access_token, `oauth:${this.o.site}`);
    this.#cached = { token, refreshAt: now + lifetimeMs - margin, expiresAt: now + lifetimeMs };
    this.minted++;
    this.o.log.debug(
      { site: this.o.site, clientId: this.o.clientId, expiresInSeconds: lifetimeMs / 1000 },
      'minted OAuth token',
    );
    return token;
  }
}

/**
 * Translates an undici failure into `appliance.tls` (with a clear sentence), `appliance.protocol`
 * for a request that could not be built here (nothing was sent; never worth a retry) or
 * `appliance.unavailable`.
 */
export function transportError(e: unknown, baseUrl: string, site: string, op: string): ServiceError {
  return transportServiceError(e, new URL(baseUrl).host, {
    tls: 'appliance.tls',
    invalid: 'appliance.protocol',
    unavailable: 'appliance.unavailable',
    prefix: `site ${site}: `,
    op,
    details: { site },
  });
}

/** A 5xx/429 answer; `details.retryAfterMs` carries its Retry-After (parseRetryAfter) when given. */
export function unavailable(site: string, op: string, status: number, retryAfterMs: number | undefined): ServiceError {
  return new ServiceError(
    'appliance.unavailable',
    `site ${site}: the appliance answered ${status}${status === 429 ? ' (rate limited)' : ''}`,
    { op, details: { site, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } },
  );
}
