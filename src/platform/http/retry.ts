import { backoffDelay, type Clock } from '../clock.js';
import { ServiceError } from '../errors.js';
import type { RetryPolicy } from '../retry-policy.js';
import { transientCode } from './transport-errors.js';

// The HTTP clients name the policy beside the loop that runs it.
export type { RetryPolicy } from '../retry-policy.js';

/**
 * A failed attempt that another attempt may cure: a 408/429/5xx answer (thrown by the client's
 * attempt) or a network failure (recognised by `withRetries` itself).
 */
export class TransientFailure extends Error {
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  /** `what` names the failure for logs and messages: `HTTP 503`, `ECONNRESET`. */
  constructor(
    readonly what: string,
    options: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(what, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TransientFailure';
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export interface RetryOptions {
  policy: RetryPolicy;
  /** Every wait goes through it, so tests never wait in real time. */
  clock: Clock;
  /** Ends the waiting (the sleep rejects with its reason); attempts in flight get it from the caller. */
  signal?: AbortSignal;
  /** Jitter source (tests pin it). */
  random?: () => number;
  /** The client's own rule: an error to end with at once instead of retrying this failure. */
  refuse?(failure: TransientFailure, attempts: number): Error | undefined;
  /** The error to end with when the attempts are spent or the server asks to wait longer than the cap. */
  giveUp(failure: TransientFailure, attempts: number): Error;
  /** Told before each wait (logs, metrics). */
  onRetry?(failure: TransientFailure, attempts: number, waitMs: number): void;
}

/**
 * Runs `attempt` until it resolves, at most `policy.max + 1` times. Only transient failures are
 * retried: a thrown TransientFailure, or a raw error whose code is a network failure
 * (`transientCode`). Anything else (a ServiceError is already classified), a local argument error above all (a header value HTTP cannot
 * carry would fail the same way every time), ends the attempts at once, unchanged. Waits are
 * full-jitter exponential backoff, but never shorter than a Retry-After; a Retry-After longer
 * than `maxDelayMs` gives up instead (waiting less than asked would only add load).
 */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, o: RetryOptions): Promise<T> {
  for (let n = 0; ; n++) {
    let failure: TransientFailure;
    try {
      return await attempt(n);
    } catch (e) {
      const transient = asTransient(e);
      if (!transient || o.signal?.aborted) throw e;
      failure = transient;
    }
    const refused = o.refuse?.(failure, n + 1);
    if (refused) throw refused;
    const asked = failure.retryAfterMs;
    if (n >= o.policy.max || (asked !== undefined && asked > o.policy.maxDelayMs)) throw o.giveUp(failure, n + 1);
    const wait = Math.max(asked ?? 0, backoffDelay(n, o.policy.baseDelayMs, o.policy.maxDelayMs, o.random));
    o.onRetry?.(failure, n + 1, wait);
    await o.clock.sleep(wait, o.signal);
  }
}

function asTransient(e: unknown): TransientFailure | undefined {
  if (e instanceof TransientFailure) return e;
  // Already classified by a client (possibly after retries of its own): final, whatever its cause.
  if (e instanceof ServiceError) return undefined;
  const code = transientCode(e);
  return code === undefined ? undefined : new TransientFailure(code, { cause: e });
}
