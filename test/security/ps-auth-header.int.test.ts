import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isServiceError } from '../../src/platform/errors.js';
import { JDOE, startHarness, WEB01, type Harness } from '../integration/vault/ps-harness.js';
import { rejection } from '../helpers/rejection.js';

// Names a console can send that an HTTP header cannot carry (or that would split PS-Auth).
const HOSTILE = [
  'CORP\\田中',
  'jdoe😀@corp.example.com',
  'j\u200bdoe@corp.example.com',
  '\u202ejdoe@corp.example.com',
  'jdoe\ud800@corp.example.com',
  'jdoe\u0000@corp.example.com',
  'jdoe\r\nX-Evil: 1',
  'jdoe\n@corp.example.com',
  'jdoe; runas=admin',
  'jdoe\u0085@corp.example.com',
];

describe('PS-Auth header: vault user names a header cannot carry', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('refuses them locally, without a network call, and 20 in a row leave the vault usable', async () => {
    // Its own agent with short timeouts: a leaked connection slot would show as a timeout below.
    const vault = h.vault({
      timeouts: { connectMs: 2000, requestMs: 3000 },
      sessionPool: { maxSessions: 4, idleSeconds: 60 },
    });
    const signInsBefore = h.sim.calls();
    for (const name of [...HOSTILE, ...HOSTILE]) {
      const e = await rejection(vault.listAccounts(name, WEB01));
      expect(isServiceError(e, 'request.bad'), `${JSON.stringify(name)}: ${String(e)}`).toBe(true);
      expect((e as Error).message).toMatch(/PS-Auth header cannot carry/);
      // The message names the code point, never echoes the raw name.
      expect((e as Error).message).not.toContain(name);
    }
    expect(h.sim.calls()).toBe(signInsBefore);
    expect(h.clock.sleeps).toEqual([]);
    const accounts = await vault.listAccounts(JDOE, WEB01);
    expect(accounts.length).toBeGreaterThan(0);
    const out = await vault.checkout({ vaultUser: JDOE, account: accounts[0]!, durationMinutes: 5, reason: 'r' });
    await vault.checkin(JDOE, out.requestId, 'done');
  });

  it('still signs in Latin-1 names (é, ß) as before', async () => {
    const vault = h.vault();
    const e = await rejection(vault.listAccounts('josé@corp.example.com', WEB01));
    // Unknown to the simulator's estate, so the vault refuses it: the header itself was sent.
    expect(isServiceError(e, 'vault.auth_failed')).toBe(true);
  });
});
