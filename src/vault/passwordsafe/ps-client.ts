import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { backoffDelay, type Clock } from '../../platform/clock.js';
import { ServiceError } from '../../platform/errors.js';
import { describeTlsFailure } from '../../platform/http-agent.js';
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

export interface RetryPolicy {
  max: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** Answers that say the server refused a call without acting on it (safe to resend anything). */
const REFUSED_STATUS = new Set([429, 503]);
/** Transport failures that happen before a single byte of the request reached the server. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** True when `e` (or its cause chain) is a failure that certainly happened before sending. */
export function failedBeforeSending(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT_CODES.has(code)) return true;
  }
  return false;
}

/**
 * True when a non-idempotent call failed in a way that leaves open whether the server acted on
 * it (connection lost after sending, headers/body timeout, a 5xx other than 503, cancelled in
 * flight): the caller must find out from the server instead of sending it again.
 */
export function isAmbiguousFailure(e: unknown): e is ServiceError {
  return e instanceof ServiceError && e.details?.ambiguous === true;
}

/** Seconds or an HTTP date → milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The HTTP edge of the Password Safe adapter: one undici dispatcher, JSON in and out, and the
 * retry rule. Only transport errors, 5xx, 408 and 429 are retried (for a non-idempotent call,
 * see `PsCall.idempotent`, only failures before sending and 429/503), at most `retries.max` times,
 * with full-jitter backoff on the injected clock; a Retry-After longer than `maxDelayMs` ends the
 * attempts (waiting less than the server asked would only add load). Every other answer is
 * returned to the caller, which maps business errors. Bodies are never logged: some are secrets.
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
    for (let attempt = 0; ; attempt++) {
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
        const final = this.#nonRetryable(outcome, c);
        if (final) {
          this.deps.metrics.requests.inc({ op: c.op, outcome: final.code });
          throw final;
        }
      } else if (!RETRYABLE_STATUS.has(outcome.status)) {
        this.deps.metrics.requests.inc({ op: c.op, outcome: outcome.status < 400 ? 'ok' : `http_${outcome.status}` });
        return outcome;
      }
      const what =
        outcome instanceof Error ? ((outcome as NodeJS.ErrnoException).code ?? outcome.name) : `HTTP ${outcome.status}`;
      if (
        c.idempotent === false &&
        (outcome instanceof Error ? !failedBeforeSending(outcome) : !REFUSED_STATUS.has(outcome.status))
      ) {
        this.deps.metrics.requests.inc({ op: c.op, outcome: 'unavailable' });
        throw new ServiceError(
          'vault.unavailable',
          `Password Safe at ${this.host} failed (${what}) after it may have received the call`,
          {
            op: `vault.${c.op}`,
            ...(outcome instanceof Error ? { cause: outcome } : {}),
            details: { host: this.host, attempts: attempt + 1, last: what, ambiguous: true },
          },
        );
      }
      const asked =
        outcome instanceof Error ? undefined : retryAfterMs(outcome.headers['retry-after'], this.deps.clock.now());
      if (c.retry === false || attempt >= this.retry.max || (asked !== undefined && asked > this.retry.maxDelayMs)) {
        this.deps.metrics.requests.inc({ op: c.op, outcome: 'unavailable' });
        throw new ServiceError(
          'vault.unavailable',
          `Password Safe at ${this.host} is unavailable (${what}) after ${attempt + 1} attempt(s)`,
          {
            op: `vault.${c.op}`,
            ...(outcome instanceof Error ? { cause: outcome } : {}),
            details: {
              host: this.host,
              attempts: attempt + 1,
              last: what,
              ...(asked === undefined ? {} : { retryAfterMs: asked }),
            },
          },
        );
      }
      this.deps.metrics.requests.inc({ op: c.op, outcome: 'retried' });
      const wait = Math.max(
        asked ?? 0,
        backoffDelay(attempt, this.retry.baseDelayMs, this.retry.maxDelayMs, this.deps.random),
      );
      this.deps.log.warn(
        { op: c.op, attempt: attempt + 1, last: what, waitMs: wait },
        'Password Safe call failed; retrying',
      );
      try {
        await this.deps.clock.sleep(wait, c.signal);
      } catch (e) {
        throw aborted(c.op, e);
      }
    }
  }

  /**
   * The error to end with when a thrown error must not be retried: TLS verification failures
   * (they would fail again) and aborts. Undefined for transport failures, which are retried.
   */
  #nonRetryable(e: Error, c: PsCall): ServiceError | undefined {
    if (e instanceof ServiceError) return e;
    const tls = describeTlsFailure(e, this.host);
    if (tls) return new ServiceError('appliance.tls', tls, { op: `vault.${c.op}`, cause: e });
    if (c.signal?.aborted) {
      const err = aborted(c.op, e);
      // Cancelled in flight: a non-idempotent call may have been acted on all the same.
      return c.idempotent === false
        ? new ServiceError(err.code, err.message, { op: err.op, cause: e, details: { ambiguous: true } })
        : err;
    }
    return undefined;
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
