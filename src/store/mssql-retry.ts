import type { Clock } from '../platform/clock.js';
import { isServiceError, ServiceError, type ErrorCode } from '../platform/errors.js';

/**
 * SQL Server error numbers after which the server has certainly not applied the statement:
 * deadlock victim, lock timeout, and Azure SQL / failover "try again" conditions. Retrying the
 * whole transaction is always safe after these. A constraint or type error is never retried.
 */
const ROLLED_BACK_NUMBERS = new Set([1205, 1222, 4060, 40197, 40501, 40613, 49918, 49919, 49920, 10928, 10929]);
/**
 * A lost connection or a client-side timeout: the statement may or may not have committed.
 * Safe to retry only for idempotent work (upserts, reads, a transaction that is rolled back).
 */
const CONNECTION_LOST_NUMBERS = new Set([233, 64, 10053, 10054, 10060]);
const CONNECTION_LOST_CODES = new Set(['ESOCKET', 'ECONNRESET', 'ECONNCLOSED', 'ETIMEOUT', 'ETIMEDOUT']);

interface DriverError {
  number?: unknown;
  code?: unknown;
  originalError?: { number?: unknown; code?: unknown };
}

/** Whether `e` is worth retrying; with `idempotent: false`, only failures the server rolled back. */
export function isTransient(e: unknown, idempotent = true): boolean {
  if (isServiceError(e)) return e.retryable;
  const d = e as DriverError | undefined;
  const number = d?.number ?? d?.originalError?.number;
  const code = d?.code ?? d?.originalError?.code;
  if (typeof number === 'number' && ROLLED_BACK_NUMBERS.has(number)) return true;
  if (!idempotent) return false;
  return (
    (typeof number === 'number' && CONNECTION_LOST_NUMBERS.has(number)) ||
    (typeof code === 'string' && CONNECTION_LOST_CODES.has(code))
  );
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  clock: Pick<Clock, 'sleep'>;
}

/**
 * Runs `work` (a whole transaction), retrying transient failures with exponential backoff; a
 * non-transient failure, or the last transient one, becomes a ServiceError: `store.unavailable`
 * when the database was unreachable or kept failing transiently, `failCode` otherwise.
 */
export async function withRetry<T>(
  op: string,
  policy: RetryPolicy,
  failCode: ErrorCode,
  work: () => Promise<T>,
  idempotent = true,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      const transient = isTransient(e, idempotent);
      if (transient && attempt < policy.attempts) {
        await policy.clock.sleep(policy.baseDelayMs * 2 ** (attempt - 1));
        continue;
      }
      if (isServiceError(e)) throw e;
      const what = (e as Error | undefined)?.message ?? String(e);
      if (!transient && isTransient(e, true)) {
        throw new ServiceError(
          'store.unavailable',
          `${op}: the connection was lost; whether the statement was applied is unknown, so it was not repeated: ${what}`,
          { op, cause: e },
        );
      }
      throw transient
        ? new ServiceError(
            'store.unavailable',
            `${op}: the database kept failing after ${attempt} attempt(s): ${what}`,
            { op, cause: e },
          )
        : new ServiceError(failCode, `${op} failed: ${what}; the transaction was rolled back`, { op, cause: e });
    }
  }
}
