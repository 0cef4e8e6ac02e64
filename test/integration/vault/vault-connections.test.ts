import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEstate } from '../../../src/simulators/passwordsafe/estate-generator.js';
import type { PasswordSafeVault } from '../../../src/vault/passwordsafe/password-safe-vault.js';
import { DEMO_KEY, startHarness, type Harness } from './ps-harness.js';

// A generated estate with one workgroup: user u1-1 may release every system's Administrator (account id = system id).
const USER = 'u1-1@corp.example.com';
const CHECKOUTS = 50;

function estate() {
  const seed = generateEstate({ systems: CHECKOUTS, accounts: CHECKOUTS, workgroups: 1, usersPerWorkgroup: 1 });
  const reg = seed.registrations[0]!;
  if (reg.kind === 'apikey') reg.key = DEMO_KEY;
  return seed;
}

/**
 * 50 checkouts at once, each of a different account, with latency so the vault holds each call
 * a while; returns the most connections the simulator saw carrying a request at once.
 */
async function concurrentCheckouts(h: Harness, vault: PasswordSafeVault): Promise<number> {
  await vault.health(USER); // sign in first: the checkouts then start together
  h.sim.resetConnections();
  h.sim.faults.latencyMs = 100;
  try {
    const outs = await Promise.all(
      Array.from({ length: CHECKOUTS }, (_, i) =>
        vault.checkout({
          vaultUser: USER,
          account: { systemId: i + 1, accountId: i + 1, kind: 'password' },
          durationMinutes: 5,
          reason: 'r',
        }),
      ),
    );
    expect(new Set(outs.map((o) => o.requestId)).size).toBe(CHECKOUTS);
  } finally {
    h.sim.faults.latencyMs = 0;
  }
  return h.sim.connections().peak;
}

describe('Password Safe adapter: connections to the vault', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(estate());
  });
  afterAll(async () => h.close());

  it('opens more than 16 connections for 50 concurrent checkouts by default (64 per origin)', async () => {
    expect(h.config().connections).toBe(64);
    const vault = h.vault({ connections: h.config().connections });
    const peak = await concurrentCheckouts(h, vault);
    expect(peak).toBeGreaterThan(16);
    expect(peak).toBeLessThanOrEqual(64);
    await vault.close();
  });

  it('opens no more connections than vault.connections allows', async () => {
    const vault = h.vault({ connections: 4 });
    const peak = await concurrentCheckouts(h, vault);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(4);
    await vault.close();
  });
});
