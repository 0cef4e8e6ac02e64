import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEstate } from '../../../src/simulators/passwordsafe/estate-generator.js';
import { sequentialRounds, type TracedCall } from '../../../src/simulators/passwordsafe/sim-call-trace.js';
import { until } from '../../helpers/until.js';
import { DEMO_KEY, startHarness, type Harness } from './ps-harness.js';

// Generated estates: user u1-n is granted workgroup WG01, i.e. every other system (srv000002, srv000004, ...).
const USER = 'u1-1@corp.example.com';
const OTHER = 'u1-2@corp.example.com';

function estate(systems: number) {
  const seed = generateEstate({ systems, accounts: systems * 2, workgroups: 2, usersPerWorkgroup: 3 });
  const reg = seed.registrations[0]!;
  if (reg.kind === 'apikey') reg.key = DEMO_KEY;
  return seed;
}

/** Calls after sign-in: the rounds a search itself needs (a session is signed in once and pooled). */
const discovery = (calls: readonly TracedCall[]) => calls.filter((c) => c.route !== 'POST Auth/SignAppin');

/**
 * Rounds are counted as the vault sees them: with latency, calls sent together are all in flight
 * before the first answer (without it, the in-process simulator would answer each before reading
 * the next). Warm connections first, so no TLS handshake delays a call into a later round. The
 * latency is long (500 ms) because a wave's calls leave one after another from a busy event
 * loop: beside two CPU hogs, 60 ms let the first answer arrive before the last call of the same
 * wave had left, which counted a third round.
 */
async function traced<T>(
  h: Harness,
  vault: ReturnType<Harness['vault']>,
  run: () => Promise<T>,
): Promise<{ result: T; calls: TracedCall[] }> {
  h.sim.faults.latencyMs = 500;
  try {
    await Promise.all(Array.from({ length: 12 }, () => vault.health(USER)));
    const trace = h.sim.traceCalls();
    return { result: await run(), calls: discovery(trace.calls) };
  } finally {
    h.sim.faults.latencyMs = 0;
  }
}

describe.each([2500, 10_000])('Jump search over a generated estate of %i systems', (systems) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(estate(systems));
  });
  afterAll(async () => h.close());

  it('fills a cold cache in 2 sequential vault rounds at 2,500 and 10,000 systems (one catalogue page wave up to ~101,000), and reads the catalogue once for users who see the same one', async () => {
    const vault = h.vault();
    const { result: found, calls } = await traced(h, vault, () => vault.searchSystems(USER, 'srv0000', 5));
    expect(found.map((s) => s.name)).toEqual(['srv000002', 'srv000004', 'srv000006', 'srv000008', 'srv000010']);
    // Accounts: 2 per system granted, so `systems` rows: several pages; the catalogue: several pages too.
    expect(calls.filter((c) => c.route === 'GET ManagedAccounts').length).toBeGreaterThan(1);
    expect(calls.filter((c) => c.route === 'GET ManagedSystems').length).toBeGreaterThan(1);
    expect(sequentialRounds(calls)).toBe(2);

    const second = await traced(h, vault, () => vault.searchSystems(OTHER, 'srv000003', 5));
    expect(second.result).toEqual([]);
    expect((await vault.searchSystems(OTHER, 'srv00001', 3)).map((s) => s.name)).toEqual([
      'srv000010',
      'srv000012',
      'srv000014',
    ]);
    // The second user's own accounts, but only the first catalogue page: the rest is shared.
    expect(second.calls.filter((c) => c.route === 'GET ManagedSystems').length).toBe(1);
    expect(sequentialRounds(second.calls)).toBeLessThanOrEqual(2);
  });

  it('finds exactly what a plain case-insensitive substring test over name, DNS name and IP finds', async () => {
    const vault = h.vault();
    const mine = h.sim.estate.systems
      .filter((s) => s.workgroup.name === 'WG01')
      .map((s) => ({ name: s.name, text: [s.name, s.dnsName ?? '', s.ip ?? ''].join(' ').toLowerCase() }))
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const q of [
      'SRV00123',
      '0.0.1',
      '.CORP.EXAMPLE',
      '10.0.4',
      '99',
      'x',
      '',
      'srv0011 ',
      'zzz',
      'corp.ex\u0000',
    ]) {
      const needle = q.trim().toLowerCase();
      const expected = needle.includes('\u0000') ? [] : mine.filter((s) => s.text.includes(needle)).slice(0, 25);
      expect(
        (await vault.searchSystems(USER, q, 25)).map((s) => s.name),
        `query ${JSON.stringify(q)}`,
      ).toEqual(expected.map((s) => s.name));
    }
  });
});

describe('Jump search cache refresh', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(estate(2500));
  });
  afterAll(async () => h.close());

  it('serves the expired list while one background refresh runs, and keeps it when the refresh fails', async () => {
    const vault = h.vault({ cache: { discoveryTtlSeconds: 30, maxStaleSeconds: 600 }, retries: { max: 0 } });
    const failures = async () =>
      (await h.metrics.getSingleMetric('ecm_bridge_vault_discovery_refresh_failures_total')?.get())?.values[0]?.value ??
      0;
    const before = await failures();
    expect((await vault.searchSystems(USER, 'srv000002', 1)).length).toBe(1);
    h.clock.advance(31_000);
    // The refresh fails: the vault refuses the account list.
    h.sim.faults.failNext(1, 500, { route: 'GET ManagedAccounts' });
    h.sim.resetCalls();
    expect((await vault.searchSystems(USER, 'srv000002', 1)).length).toBe(1);
    await until(async () => (await failures()) > before, 'the failed refresh to be counted');
    expect(h.logs.text).toContain('discovery refresh failed; serving the cached list');
    // Still served, and the failed refresh is not retried on every lookup.
    const calls = h.sim.calls('GET ManagedAccounts');
    expect((await vault.searchSystems(USER, 'srv000004', 1)).length).toBe(1);
    expect(h.sim.calls('GET ManagedAccounts')).toBe(calls);
  });

  it('runs consecutive refreshes to the end, each user view rebuilt on the refreshed catalogue', async () => {
    const vault = h.vault({ cache: { discoveryTtlSeconds: 30, maxStaleSeconds: 600 } });
    expect((await vault.searchSystems(USER, 'srv000002', 1)).length).toBe(1);
    // A system the user may request, past the catalogue's first page (its fingerprint stays the same).
    const renamed = h.sim.estate.systems.find((s) => s.name === 'srv002002')!;
    for (let round = 1; round <= 3; round++) {
      renamed.name = `renamed-${round}`;
      const systemPages = h.sim.calls('GET ManagedSystems');
      h.clock.advance(31_000);
      // Served from the old lists at once, while the refresh runs.
      expect((await vault.searchSystems(USER, `renamed-${round}`, 5)).length).toBe(0);
      await until(
        async () => (await vault.searchSystems(USER, `renamed-${round}`, 5)).length === 1,
        `refresh ${round} to serve the renamed system`,
      );
      // The catalogue was read again beyond its first page (pages of at most 1,000 rows).
      expect(h.sim.calls('GET ManagedSystems')).toBeGreaterThanOrEqual(systemPages + 3);
    }
  });
});
