import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { Secret } from '../../../src/platform/secret.js';
import { SessionPool, type PsSession } from '../../../src/vault/passwordsafe/session-pool.js';

function pool(max = 2, idleMs = 60_000) {
  const clock = new ManualClock();
  const signIns: string[] = [];
  const signOuts: string[] = [];
  let release: (() => void) | undefined;
  const gate = { hold: false };
  const p = new SessionPool({
    maxSessions: max,
    idleMs,
    clock,
    log: silentLogger(),
    async signIn(identity) {
      signIns.push(identity);
      if (gate.hold) await new Promise<void>((r) => (release = r));
      return {
        identity,
        cookie: new Secret(`c-${identity}-${signIns.length}`),
        userId: 1,
        lastUsed: clock.now(),
      } satisfies PsSession;
    },
    async signOut(s) {
      signOuts.push(s.identity);
    },
  });
  return { p, clock, signIns, signOuts, gate, release: () => release?.() };
}

describe('SessionPool', () => {
  it('shares one sign-in between concurrent callers of the same identity', async () => {
    const t = pool();
    t.gate.hold = true;
    const a = t.p.acquire('u1');
    const b = t.p.acquire('u1');
    await new Promise((r) => setImmediate(r));
    t.release();
    expect(await a).toBe(await b);
    expect(t.signIns).toEqual(['u1']);
  });

  it('evicts and signs out the least recently used session when full', async () => {
    const t = pool(2);
    await t.p.acquire('u1');
    await t.p.acquire('u2');
    await t.p.acquire('u1'); // u2 is now least recently used
    await t.p.acquire('u3');
    await new Promise((r) => setImmediate(r));
    expect(t.signOuts).toEqual(['u2']);
    expect(t.p.size).toBe(2);
  });

  it('replaces an idle session (signing the old one out) and forgets an invalidated one without sign-out', async () => {
    const t = pool(5, 1000);
    const first = await t.p.acquire('u1');
    await t.clock.advance(1001);
    const second = await t.p.acquire('u1');
    expect(second).not.toBe(first);
    t.p.invalidate(second);
    await t.p.acquire('u1');
    await new Promise((r) => setImmediate(r));
    expect(t.signIns).toEqual(['u1', 'u1', 'u1']);
    expect(t.signOuts).toEqual(['u1']);
  });

  it('signs everything out on close and refuses new work', async () => {
    const t = pool(5);
    await t.p.acquire('u1');
    await t.p.acquire('u2');
    await t.p.close();
    expect(t.signOuts.sort()).toEqual(['u1', 'u2']);
    await expect(t.p.acquire('u1')).rejects.toMatchObject({ code: 'service.shutting_down' });
  });

  it('logs rather than throws when a sign-out fails', async () => {
    const clock = new ManualClock();
    const p = new SessionPool({
      maxSessions: 1,
      idleMs: 1000,
      clock,
      log: silentLogger(),
      signIn: async (identity) => ({ identity, cookie: new Secret('c'), userId: 1, lastUsed: 0 }),
      signOut: async () => {
        throw new Error('network down');
      },
    });
    await p.acquire('u1');
    await expect(p.close()).resolves.toBeUndefined();
  });
});
