import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Clock } from '../../platform/clock.js';
import { ServiceError } from '../../platform/errors.js';
import { withRetries, TransientFailure, type RetryPolicy } from '../../platform/http/retry.js';
import { parseRetryAfter } from '../../platform/http/retry-after.js';
import {
  describeTlsFailure,
  proxyServiceError,
  errorCode,
  failedBeforeSending,
  localArgumentCode,
  RETRYABLE_STATUS,
  transientCode,
} from '../../platform/http/transport-errors.js';
import type { VaultMetrics } from './vault-metrics.js';

export interface PsCall {
  /** Metric/log name of the operation, e.g. `list_accounts`. */
  op: string;
  method: 'GET' | 'POST' | 'PUT';
  /** Path under the API base, e.g. `ManagedAccounts`. */
  path: string;
  query?: Record<string, string | number>;
  json?: unknown;
  form?: Record<string, string>;
  /** Raw header values; built from Secrets by the caller at the last moment. */
  authorization?: string;
  cookie?: string;
  signal?: AbortSignal;
  /** False for best-effort calls (sign-out) that must not hold up shutdown with backoff. */
  retry?: boolean;
  /**
   * False for calls that must not run twice (`POST Requests`): only failures that certainly
   * happened before the server saw the call (connect refused/timeout, DNS) and 429/503 answers
   * are retried; any other failure ends at once with an error that `isAmbiguousFailure` knows.
   */
  idempotent?: boolean;
}

export interface PsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or the raw text when the body is not JSON; undefined when empty. */
  body: unknown;
}

/** Answers that say the server refused a call without acting on it (safe to resend anything). */
const REFUSED_STATUS = new Set([429, 503]);

/**
 * True when a non-idempotent call failed in a way that leaves open whether the server acted on
 * it (connection lost after sending, headers/body timeout, a 5xx other than 503, cancelled in
 * flight): the caller must find out from the server instead of sending it again.
 */
export function isAmbiguousFailure(e: unknown): e is ServiceError {
  return e instanceof ServiceError && e.details?.ambiguous === true;
}

/**
 * The HTTP edge of the Password Safe adapter: one undici dispatcher, JSON in and out, retries by
 * the shared `withRetries` (network failures, 408, 429, 5xx; Retry-After honoured). Its own rule
 * is for non-idempotent calls (see `PsCall.idempotent`): only failures before sending and
 * 429/503 are retried. Every other answer is returned to the caller, which maps business
 * errors. Bodies are never logged: some are secrets.
 */
export class PsClient {
  readonly #origin: string;
  readonly #prefix: string;

  constructor(
    baseUrl: string,
    private readonly dispatcher: Dispatcher,
    private readonly retry: RetryPolicy,
    private readonly deps: { log: Logger; clock: Clock; metrics: VaultMetrics; random?: () => number },
  ) {
    const u = new URL(baseUrl);
    this.#origin = u.origin;
    this.#prefix = u.pathname.replace(/\/+$/, '');
  }

  get host(): string {
    return new URL(this.#origin).host;
  }

  async call(c: PsCall): Promise<PsResponse> {
    const count = (outcome: string) => this.deps.metrics.requests.inc({ op: c.op, outcome });
    const failed = (f: TransientFailure, attempts: number, ambiguous: boolean) => {
      count('unavailable');
      const asked = f.retryAfterMs;
      return new ServiceError(
        'vault.unavailable',
        ambiguous
          ? `Password Safe at ${this.host} failed (${f.what}) after it may have received the call`
          : `Password Safe at ${this.host} is unavailable (${f.what}) after ${attempts} attempt(s)`,
        {
          op: `vault.${c.op}`,
          ...(f.cause === undefined ? {} : { cause: f.cause }),
          details: {
            host: this.host,
            attempts,
            last: f.what,
            ...(asked === undefined ? {} : { retryAfterMs: asked }),
            ...(ambiguous ? { ambiguous: true } : {}),
          },
        },
      );
    };
    try {
      return await withRetries(() => this.#attempt(c, count), {
        // Best-effort calls (sign-out) must not hold up shutdown with backoff.
        policy: c.retry === false ? { ...this.retry, max: 0 } : this.retry,
        clock: this.deps.clock,
        ...(c.signal ? { signal: c.signal } : {}),
        ...(this.deps.random ? { random: this.deps.random } : {}),
        refuse: (f, attempts) => {
          const unacted = f.status === undefined ? failedBeforeSending(f.cause) : REFUSED_STATUS.has(f.status);
          return c.idempotent === false && !unacted ? failed(f, attempts, true) : undefined;
        },
        giveUp: (f, attempts) => failed(f, attempts, false),
        onRetry: (f, attempts, waitMs) => {
          count('retried');
          this.deps.log.warn(
            { op: c.op, attempt: attempts, last: f.what, waitMs },
            'Password Safe call failed; retrying',
          );
        },
      });
    } catch (e) {
      // Cancelled while waiting between attempts: nothing is in flight.
      if (c.signal?.aborted && !(e instanceof ServiceError)) throw aborted(c.op, e);
      throw e;
    }
  }

  /** One exchange: a response to return, a TransientFailure (408/429/5xx) or an error. */
  async #attempt(c: PsCall, count: (outcome: string) => void): Promise<PsResponse> {
    const started = performance.now();
    let outcome: PsResponse | Error;
    try {
      outcome = await this.#once(c);
    } catch (e) {
      outcome = e as Error;
    }
    const seconds = (performance.now() - started) / 1000;
    this.deps.metrics.duration.observe({ op: c.op }, seconds);
    // Op, method, path template and status only: never headers, query values or bodies.
    this.deps.log.debug(
      {
        op: c.op,
        method: c.method,
        status: outcome instanceof Error ? undefined : outcome.status,
        ms: Math.round(seconds * 1000),
      },
      'Password Safe call',
    );
    if (outcome instanceof Error) {
      const final = this.#final(outcome, c);
      if (!final) throw outcome; // a network failure: withRetries decides
      count(final.code);
      throw final;
    }
    if (RETRYABLE_STATUS.has(outcome.status))
      throw new TransientFailure(`HTTP ${outcome.status}`, {
        status: outcome.status,
        retryAfterMs: parseRetryAfter(outcome.headers['retry-after'], this.deps.clock.now()),
      });
    count(outcome.status < 400 ? 'ok' : `http_${outcome.status}`);
    return outcome;
  }

  /**
   * The error to end with when a thrown error is not a network failure: TLS verification
   * failures, requests that could not be built here, aborts, anything unknown. Undefined for
   * network failures, which `withRetries` retries.
   */
  #final(e: Error, c: PsCall): ServiceError | undefined {
    if (e instanceof ServiceError) return e;
    const op = `vault.${c.op}`;
    const proxy = proxyServiceError(e, this.host, { prefix: 'Password Safe: ', op, details: { host: this.host } });
    if (proxy) return proxy;
    const tls = describeTlsFailure(e, this.host);
    if (tls) return new ServiceError('vault.tls', `Password Safe ${tls}`, { op, cause: e });
    if (c.signal?.aborted) {
      const err = aborted(c.op, e);
      // Cancelled in flight: a non-idempotent call may have been acted on all the same.
      return c.idempotent === false
        ? new ServiceError(err.code, err.message, { op: err.op, cause: e, details: { ambiguous: true } })
        : err;
    }
    const local = localArgumentCode(e);
    if (local)
      return new ServiceError(
        'vault.request_invalid',
        `cannot send ${c.op} to Password Safe: ${e.message} (${local}); a header value has a character HTTP cannot carry`,
        { op, cause: e, details: { host: this.host, code: local } },
      );
    if (transientCode(e)) return undefined;
    return new ServiceError(
      'vault.unavailable',
      `Password Safe call ${c.op} to ${this.host} failed (${errorCode(e)})`,
      {
        op,
        cause: e,
        details: { host: this.host, last: errorCode(e) },
      },
    );
  }

  async #once(c: PsCall): Promise<PsResponse> {
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | undefined;
    if (c.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(c.json);
    } else if (c.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(c.form).toString();
    } else if (c.method !== 'GET') {
      body = '';
    }
    if (c.authorization !== undefined) headers.authorization = c.authorization;
    if (c.cookie !== undefined) headers.cookie = c.cookie;
    const qs = c.query
      ? '?' + new URLSearchParams(Object.entries(c.query).map(([k, v]): [string, string] => [k, String(v)])).toString()
      : '';
    const res = await this.dispatcher.request({
      origin: this.#origin,
      path: `${this.#prefix}/${c.path}${qs}`,
      method: c.method,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(c.signal ? { signal: c.signal } : {}),
    });
    const text = await res.body.text();
    let parsed: unknown;
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.statusCode, headers: res.headers, body: parsed };
  }
}

function aborted(op: string, cause: unknown): ServiceError {
  return new ServiceError('service.timeout', `Password Safe call ${op} was cancelled before it finished`, {
    op: `vault.${op}`,
    cause,
  });
}
