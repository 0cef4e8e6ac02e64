import { describe, expect, it } from 'vitest';
import { isServiceError } from '../../../src/platform/errors.js';
import { isTransient, withRetry } from '../../../src/store/mssql/retry.js';

const sqlError = (number: number) => Object.assign(new Error(`SQL error ${number}`), { number });
const policy = () => {
  const slept: number[] = [];
  return {
    slept,
    policy: {
      policy: { max: 3, baseDelayMs: 100, maxDelayMs: 1_000 },
      clock: { sleep: async (ms: number) => void slept.push(ms) },
    },
  };
};

describe('SQL Server retries', () => {
  it('classifies deadlocks, lock timeouts and lost connections as transient, key and type errors not', () => {
    expect(isTransient(sqlError(1205))).toBe(true);
    expect(isTransient(sqlError(1222))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { code: 'ESOCKET' }))).toBe(true);
    expect(isTransient({ originalError: { number: 40613 } })).toBe(true);
    expect(isTransient(sqlError(8152))).toBe(false);
    expect(isTransient(new Error('plain'))).toBe(false);
  });

  it("classifies the T-SQL engine's generic number by its message: lock timeout and serialization failure only", () => {
    const engine = (message: string) => Object.assign(new Error(message), { number: 33557097 });
    expect(isTransient(engine('canceling statement due to lock timeout'), false)).toBe(true);
    expect(
      isTransient({ originalError: { number: 33557097, message: 'could not serialize access due to ...' } }, false),
    ).toBe(true);
    expect(isTransient(engine('SET TRANSACTION ISOLATION failed, transaction aborted'))).toBe(false);
  });

  it('a duplicate key is transient for idempotent writes only (a racing insert of the same key)', () => {
    expect(isTransient(sqlError(2627))).toBe(true);
    expect(isTransient(sqlError(2601))).toBe(true);
    expect(isTransient(sqlError(2627), false)).toBe(false);
    expect(isTransient(sqlError(2601), false)).toBe(false);
  });

  it('never retries non-idempotent work after a lost connection (it may have committed), only after a rollback', async () => {
    const lost = Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
    expect(isTransient(lost, false)).toBe(false);
    expect(isTransient(sqlError(10054), false)).toBe(false);
    expect(isTransient(sqlError(1205), false)).toBe(true);
    const { slept, policy: p } = policy();
    let calls = 0;
    const err = await withRetry(
      'store.takeLease',
      p,
      'store.write_failed',
      async () => {
        calls++;
        throw lost;
      },
      false,
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(slept).toEqual([]);
    expect(isServiceError(err) && err.code).toBe('store.unavailable');
    expect((err as Error).message).toContain('not repeated');
  });

  it('retries a deadlocked transaction with exponential backoff, then succeeds', async () => {
    const { slept, policy: p } = policy();
    let calls = 0;
    const result = await withRetry('op', p, 'store.write_failed', async () => {
      calls++;
      if (calls < 3) throw sqlError(1205);
      return 'done';
    });
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(slept).toEqual([100, 200]);
  });

  it('does not retry a key violation of non-idempotent work: store.write_failed at once', async () => {
    const { slept, policy: p } = policy();
    let calls = 0;
    const err = await withRetry(
      'store.recordCredentialEvent',
      p,
      'store.write_failed',
      async () => {
        calls++;
        throw sqlError(2627);
      },
      false,
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(slept).toEqual([]);
    expect(isServiceError(err, 'store.write_failed')).toBe(true);
    expect((err as Error).message).toBe(
      'store.recordCredentialEvent failed: SQL error 2627; the transaction was rolled back',
    );
  });

  it('retries an upsert that lost the race to insert, and a key violation that persists is store.write_failed', async () => {
    const { slept, policy: p } = policy();
    let calls = 0;
    expect(
      await withRetry('store.writeSessions', p, 'store.write_failed', async () => {
        if (++calls === 1) throw sqlError(2627);
        return 'updated';
      }),
    ).toBe('updated');
    expect(slept).toEqual([100]);
    const err = await withRetry('store.writeSessions', p, 'store.write_failed', async () => {
      throw sqlError(2601);
    }).catch((e: unknown) => e);
    expect(isServiceError(err, 'store.write_failed')).toBe(true);
  });

  it('gives up after the last attempt of a transient failure as store.unavailable', async () => {
    const { slept, policy: p } = policy();
    const err = await withRetry('op', p, 'store.write_failed', async () => {
      throw Object.assign(new Error('connection lost'), { code: 'ECONNRESET' });
    }).catch((e: unknown) => e);
    expect(isServiceError(err, 'store.unavailable')).toBe(true);
    expect(slept).toEqual([100, 200, 400]);
  });

  it('caps each wait at the policy maxDelayMs', async () => {
    const { slept, policy: p } = policy();
    p.policy.maxDelayMs = 150;
    const err = await withRetry('op', p, 'store.write_failed', async () => {
      throw sqlError(1205);
    }).catch((e: unknown) => e);
    expect(isServiceError(err, 'store.unavailable')).toBe(true);
    expect(slept).toEqual([100, 150, 150]);
  });

  it('a server that is not serving (shutting down, failing over, still starting) is transient, even for non-idempotent work', () => {
    const login = (message: string) => Object.assign(new Error(message), { code: 'ELOGIN' });
    expect(isTransient(login('the database system is shutting down'), false)).toBe(true);
    expect(isTransient({ originalError: { code: 'ELOGIN', message: 'the database system is starting up' } })).toBe(
      true,
    );
    expect(isTransient(sqlError(6005), false)).toBe(true);
    for (const agFailover of [976, 978, 983, 35374]) expect(isTransient(sqlError(agFailover), false)).toBe(true);
    // A login refused for its credentials is the operator's to fix, not the network's.
    expect(isTransient(login("Login failed for user 'ecm'."))).toBe(false);
  });

  it('a login during a shutdown that persists is answered as store.unavailable (retryable), never store.write_failed', async () => {
    const { slept, policy: p } = policy();
    const err = await withRetry(
      'store.openLease',
      p,
      'store.write_failed',
      async () => {
        throw Object.assign(new Error('the database system is shutting down'), { code: 'ELOGIN' });
      },
      false,
    ).catch((e: unknown) => e);
    expect(slept).toEqual([100, 200, 400]);
    expect(isServiceError(err, 'store.unavailable')).toBe(true);
    expect((err as { retryable?: boolean }).retryable).toBe(true);
  });
});
