import type { Clock } from '../../platform/clock.js';
import { isServiceError, ServiceError, type ErrorCode } from '../../platform/errors.js';
import type { RetryPolicy } from '../../platform/retry-policy.js';

/**
 * SQL Server error numbers after which the server has certainly not applied the statement:
 * deadlock victim (1205), lock timeout (1222), and Azure SQL / failover "try again" conditions.
 * Retrying the whole transaction is always safe after these. A constraint or type error is never
 * retried (except a racing duplicate key, below).
 */
const ROLLED_BACK_NUMBERS = new Set([1205, 1222, 4060, 40197, 40501, 40613, 49918, 49919, 49920, 10928, 10929]);
/**
 * Babelfish (the T-SQL engine the tests run on) reports PostgreSQL errors it has no SQL Server
 * number for as 33557097, so only the message tells a lock timeout or a serialization failure
 * (both rolled back, both retryable) from a permanent error with the same number.
 */
const ENGINE_GENERIC_NUMBER = 33557097;
const ENGINE_ROLLED_BACK_MESSAGE = /lock timeout|could not serialize access/i;
/**
 * A unique key violated by a concurrent writer of the same new key: the other transaction
 * inserted the row first. For an upsert, the retry finds the row and updates it, so these are
 * transient for idempotent writes only; for anything else they are the caller's error.
 */
const DUPLICATE_KEY_NUMBERS = new Set([2627, 2601]);
/**
 * A lost connection or a client-side timeout: the statement may or may not have committed.
 * Safe to retry only for idempotent work (upserts, reads, a transaction that is rolled back).
 */
const CONNECTION_LOST_NUMBERS = new Set([233, 64, 10053, 10054, 10060]);
const CONNECTION_LOST_CODES = new Set(['ESOCKET', 'ECONNRESET', 'ECONNCLOSED', 'ETIMEOUT', 'ETIMEDOUT']);
/**
 * The server is going away or coming back: shutting down (6005), a database or availability-group
 * replica not available during a failover (976, 978, 983, 988, 35374, 3948), or starting up
 * (18401). Nothing of the statement ran, or the session was ended before it could commit; the
 * next attempt reaches the new primary or the restarted server.
 */
const FAILOVER_NUMBERS = new Set([6005, 976, 978, 983, 988, 3948, 35374, 18401]);
/**
 * A login that failed because the server is not serving yet or any more (PostgreSQL-based engines
 * say so in words): the connection never carried a statement, so every kind of work may retry. A
 * login refused for its credentials (18456 and anything else) is the operator's to fix: permanent.
 */
const NOT_SERVING_MESSAGE =
  /shutting down|starting up|in recovery mode|SHUTDOWN is in progress|not currently available/i;

interface DriverError {
  number?: unknown;
  code?: unknown;
  message?: unknown;
  originalError?: { number?: unknown; code?: unknown; message?: unknown };
}

type Failure = 'rolled_back' | 'duplicate_key' | 'connection_lost' | 'not_serving' | 'permanent';

function classify(e: unknown): Failure {
  const d = e as DriverError | undefined;
  const number = d?.number ?? d?.originalError?.number;
  const code = d?.code ?? d?.originalError?.code;
  const message = String(d?.message ?? '') + ' ' + String(d?.originalError?.message ?? '');
  if (code === 'ELOGIN') return NOT_SERVING_MESSAGE.test(message) ? 'not_serving' : 'permanent';
  if (typeof number === 'number') {
    if (ROLLED_BACK_NUMBERS.has(number)) return 'rolled_back';
    if (FAILOVER_NUMBERS.has(number)) return 'not_serving';
    if (number === ENGINE_GENERIC_NUMBER && ENGINE_ROLLED_BACK_MESSAGE.test(message)) return 'rolled_back';
    if (DUPLICATE_KEY_NUMBERS.has(number)) return 'duplicate_key';
    if (CONNECTION_LOST_NUMBERS.has(number)) return 'connection_lost';
  }
  if (typeof code === 'string' && CONNECTION_LOST_CODES.has(code)) return 'connection_lost';
  return 'permanent';
}

/**
 * Whether `e` is worth retrying. With `idempotent: false`, only failures the server rolled back
 * (or a server that was not serving: a failover, a shutdown, a login before it was up);
 * with `idempotent: true` (upserts and reads) also a lost connection and a racing duplicate key.
 */
export function isTransient(e: unknown, idempotent = true): boolean {
  if (isServiceError(e)) return e.retryable;
  const kind = classify(e);
  return (
    kind === 'rolled_back' ||
    kind === 'not_serving' ||
    (idempotent && (kind === 'connection_lost' || kind === 'duplicate_key'))
  );
}

/** The store's retries: the shared policy, and the clock every wait goes through (tests never wait). */
export interface StoreRetries {
  policy: RetryPolicy;
  clock: Pick<Clock, 'sleep'>;
}

/**
 * Runs `work` (a whole transaction), retrying transient failures with exponential backoff
 * (`baseDelayMs` doubling, each wait capped at `maxDelayMs`, no jitter); a
 * non-transient failure, or the last transient one, becomes a ServiceError: `store.unavailable`
 * when the database was unreachable or kept failing transiently, `failCode` otherwise (a
 * duplicate key that outlives every retry is no racing writer but a real conflict).
 */
export async function withRetry<T>(
  op: string,
  retries: StoreRetries,
  failCode: ErrorCode,
  work: () => Promise<T>,
  idempotent = true,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      const transient = isTransient(e, idempotent);
      const { policy } = retries;
      if (transient && attempt <= policy.max) {
        await retries.clock.sleep(Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
        continue;
      }
      if (isServiceError(e)) throw e;
      const what = (e as Error | undefined)?.message ?? String(e);
      const kind = classify(e);
      if (!transient && kind === 'connection_lost') {
        throw new ServiceError(
          'store.unavailable',
          `${op}: the connection was lost; whether the statement was applied is unknown, so it was not repeated: ${what}`,
          { op, cause: e },
        );
      }
      throw transient && kind !== 'duplicate_key'
        ? new ServiceError(
            'store.unavailable',
            `${op}: the database kept failing after ${attempt} attempt(s): ${what}`,
            { op, cause: e },
          )
        : new ServiceError(failCode, `${op} failed: ${what}; the transaction was rolled back`, { op, cause: e });
    }
  }
}
