import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.js';
import { withBearer } from '../../../src/platform/http/bearer.js';
import { parseRetryAfter } from '../../../src/platform/http/retry-after.js';
import { TransientFailure, withRetries, type RetryOptions } from '../../../src/platform/http/retry.js';
import { Secret } from '../../../src/platform/secret.js';

const codeError = (code: string) => Object.assign(new Error(code), { code });

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1);
  it('reads delta-seconds and HTTP dates, caps them, and ignores anything else', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter([' 0 '], now)).toBe(0);
    expect(parseRetryAfter(new Date(now + 10_000).toUTCString(), now)).toBe(10_000);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(0); // in the past: now
    expect(parseRetryAfter('120', now, 60_000)).toBe(60_000);
    expect(parseRetryAfter('99999999999', now)).toBe(24 * 3_600_000);
    for (const bad of [undefined, '', 'soon', '-5', '1.5', '12:00']) expect(parseRetryAfter(bad, now)).toBeUndefined();
  });
});

describe('withRetries', () => {
  const run = (attempt: (n: number) => Promise<string>, extra: Partial<RetryOptions> = {}) => {
    const clock = new ManualClock();
    const waits: number[] = [];
    const out = withRetries(attempt, {
      policy: { max: 3, baseDelayMs: 100, maxDelayMs: 1000 },
      clock,
      random: () => 0.5,
      giveUp: (f, attempts) => new Error(`gave up after ${attempts}: ${f.what}`),
      onRetry: (_f, _n, ms) => waits.push(ms),
      ...extra,
    });
    return { clock, waits, out };
  };
  /** Advances the clock through every wait until `p` settles. */
  const settle = async <T>(clock: ManualClock, p: Promise<T>): Promise<PromiseSettledResult<T>> => {
    let done: PromiseSettledResult<T> | undefined;
    void Promise.allSettled([p]).then(([r]) => (done = r));
    while (!done) await clock.advance(1000);
    return done;
  };

  it('retries network failures and transient answers with backoff on the injected clock', async () => {
    const failures = [codeError('ECONNRESET'), new TransientFailure('HTTP 503', { status: 503 })];
    const { clock, waits, out } = run(async (n) => {
      if (n < failures.length) throw failures[n];
      return 'ok';
    });
    expect(await settle(clock, out)).toEqual({ status: 'fulfilled', value: 'ok' });
    expect(waits).toEqual([50, 100]);
  });

  it('never retries a local argument error (it surfaces at once, unchanged)', async () => {
    const invalid = codeError('UND_ERR_INVALID_ARG');
    let calls = 0;
    const { clock, waits, out } = run(async () => {
      calls++;
      throw invalid;
    });
    expect(await settle(clock, out)).toEqual({ status: 'rejected', reason: invalid });
    expect(calls).toBe(1);
    expect(waits).toEqual([]);
  });

  it('waits at least the Retry-After, and gives up when it asks for more than maxDelayMs', async () => {
    const asked = [400, 5000];
    const { clock, waits, out } = run(async (n) => {
      throw new TransientFailure('HTTP 429', { status: 429, retryAfterMs: asked[n] });
    });
    expect(await settle(clock, out)).toMatchObject({
      status: 'rejected',
      reason: { message: 'gave up after 2: HTTP 429' },
    });
    expect(waits).toEqual([400]);
  });

  it('stops after max retries and lets the client refuse a retry', async () => {
    const spent = run(async () => {
      throw codeError('UND_ERR_SOCKET');
    });
    expect(await settle(spent.clock, spent.out)).toMatchObject({
      reason: { message: 'gave up after 4: UND_ERR_SOCKET' },
    });
    expect(spent.waits).toEqual([50, 100, 200]);
    const refused = run(
      async () => {
        throw codeError('ECONNRESET');
      },
      { refuse: (f) => new Error(`not resent: ${f.what}`) },
    );
    expect(await settle(refused.clock, refused.out)).toMatchObject({ reason: { message: 'not resent: ECONNRESET' } });
  });

  it('honours the abort signal while waiting', async () => {
    const ac = new AbortController();
    const { clock, out } = run(
      async () => {
        throw codeError('ECONNREFUSED');
      },
      { signal: ac.signal },
    );
    await clock.advance(0);
    ac.abort(new Error('caller gone'));
    await expect(out).rejects.toThrow('caller gone');
  });
});

describe('withBearer', () => {
  class Tokens {
    minted = 0;
    invalidated: string[] = [];
    #current: Secret | undefined;
    async token(): Promise<Secret> {
      this.#current ??= new Secret(`token-${++this.minted}`);
      return this.#current;
    }
    invalidate(rejected: Secret): void {
      this.invalidated.push(rejected.reveal());
      if (this.#current?.equals(rejected)) this.#current = undefined;
    }
  }

  it('attaches the token, and on 401 drops it, mints once and sends once more', async () => {
    const tokens = new Tokens();
    const sent: string[] = [];
    const status = await withBearer(
      tokens,
      async (auth) => (sent.push(auth), sent.length === 1 ? 401 : 200),
      (s) => s === 401,
    );
    expect(status).toBe(200);
    expect(sent).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(tokens.invalidated).toEqual(['token-1']);
  });

  it('returns a second 401 to the caller instead of minting again', async () => {
    const tokens = new Tokens();
    const status = await withBearer(
      tokens,
      async () => 401,
      (s) => s === 401,
    );
    expect(status).toBe(401);
    expect(tokens.minted).toBe(2);
    expect(tokens.invalidated).toEqual(['token-1', 'token-2']);
  });
});
