import type { Clock } from '../platform/clock.js';
import { isServiceError, ServiceError, type ErrorCode } from '../platform/errors.js';

/**
 * SQL Server error numbers worth retrying the whole transaction for: deadlock victim, lock
 * timeout, and Azure SQL / failover "try again" conditions. Nothing else is retried: a
 * constraint or type error would fail the same way again.
 */
const TRANSIENT_NUMBERS = new Set([1205, 1222, 4060, 40197, 40501, 40613, 49918, 49919, 49920, 10928, 10929, 233, 64, 10053, 10054, 10060]);
/** tedious/mssql driver codes for a lost or timed-out connection. */
const TRANSIENT_CODES = new Set(['ESOCKET', 'ECONNRESET', 'ECONNCLOSED', 'ETIMEOUT', 'ETIMEDOUT']);

interface DriverError {
  number?: unknown;
  code?: unknown;
  originalError?: { number?: unknown; code?: unknown };
}

export function isTransient(e: unknown): boolean {
  if (isServiceError(e)) return e.retryable;
  const d = e as DriverError | undefined;
  const number = d?.number ?? d?.originalError?.number;
  const code = d?.code ?? d?.originalError?.code;
  return (typeof number === 'number' && TRANSIENT_NUMBERS.has(number)) || (typeof code === 'string' && TRANSIENT_CODES.has(code));
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
export async function withRetry<T>(op: string, policy: RetryPolicy, failCode: ErrorCode, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      const transient = isTransient(e);
      if (transient && attempt < policy.attempts) {
        await policy.clock.sleep(policy.baseDelayMs * 2 ** (attempt - 1));
        continue;
      }
      if (isServiceError(e)) throw e;
      const what = (e as Error | undefined)?.message ?? String(e);
      throw transient
        ? new ServiceError('store.unavailable', `${op}: the database kept failing after ${attempt} attempt(s): ${what}`, { op, cause: e })
        : new ServiceError(failCode, `${op} failed: ${what}; the transaction was rolled back`, { op, cause: e });
    }
  }
}
