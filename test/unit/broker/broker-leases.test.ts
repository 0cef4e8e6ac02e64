import { describe, expect, it, vi } from 'vitest';
import { ServiceError } from '../../../src/platform/errors.js';
import type { Lease } from '../../../src/broker/lease-store-port.js';
import { brokerHarness, ctx, T0 } from './broker-fixture.js';

async function checkOut(h: ReturnType<typeof brokerHarness>, lsid = 'c0ffee01') {
  const c = ctx({ session: { lsid, externalKey: 'CHG-1' } });
  const id = (await h.broker.handle('credentials.list', c, {}, h.signal)).credentials[0]!.id;
  return (await h.broker.handle('credentials.get', c, { credentialId: id }, h.signal)).credential;
}

const orphan = (owner: string, vaultRequestId: string, expiresAt: Date): Lease => ({
  leaseId: `lease-${vaultRequestId}`,
  vaultRequestId,
  owner,
  site: 'default',
  consoleUser: 'CORP\\jdoe',
  vaultUser: 'jdoe@corp.example.com',
  systemId: 10,
  systemName: 'web01',
  accountId: 100,
  accountName: 'Administrator',
  lsid: 'old-session',
  auditId: null,
  createdAt: new Date(T0 - 600_000),
  expiresAt,
});

describe('Broker leases', () => {
  it('the sweeper checks in expired leases and marks the audit row expired', async () => {
    const h = brokerHarness();
    await h.broker.start();
    await checkOut(h);
    await h.clock.advance(29 * 60_000); // not yet expired
    expect(h.vault.openRequests()).toHaveLength(1);
    await h.clock.advance(60_000); // 30 min: the lease expired, the next tick sweeps it
    await h.clock.advance(30_000);
    await vi.waitFor(() => expect(h.vault.openRequests()).toEqual([]));
    await vi.waitFor(async () =>
      expect((await h.state.listCredentialEvents({}))[0]).toMatchObject({ outcome: 'expired' }),
    );
    expect(h.state.leases.size).toBe(0);
    await h.broker.stop(1000);
  });

  it('keeps a lease whose check-in failed and retries it on the next sweep', async () => {
    const h = brokerHarness();
    await h.broker.start();
    await checkOut(h);
    h.vault.failNext('checkin', new ServiceError('vault.unavailable', 'vault down'));
    await h.clock.advance(31 * 60_000);
    await vi.waitFor(() => expect(h.vault.calls.filter((c) => c.method === 'checkin')).toHaveLength(1));
    expect(h.state.leases.size).toBe(1);
    await h.clock.advance(30_000);
    await vi.waitFor(() => expect(h.vault.openRequests()).toEqual([]));
    expect(h.state.leases.size).toBe(0);
    expect(h.lines.join('')).toContain('check-in failed; will retry');
    await h.broker.stop(1000);
  });

  it('checks in its own leases at shutdown when checkinOnShutdown, and keeps them otherwise', async () => {
    const h = brokerHarness();
    await h.broker.start();
    await checkOut(h, 's1');
    await checkOut(h, 's2');
    await h.broker.stop(1000);
    expect(h.vault.openRequests()).toEqual([]);
    expect((await h.state.listCredentialEvents({})).map((e) => e.outcome)).toEqual(['checked_in', 'checked_in']);

    const keep = brokerHarness({
      instanceId: 'keeper',
      tweak: (y) => y.replace('credentialIdTtlSeconds: 300', 'credentialIdTtlSeconds: 300\n  checkinOnShutdown: false'),
    });
    const b = keep.broker;
    await b.start();
    const c = ctx();
    const id = (await b.handle('credentials.list', c, {}, keep.signal)).credentials[0]!.id;
    await b.handle('credentials.get', c, { credentialId: id }, keep.signal);
    await b.stop(1000);
    expect(keep.vault.openRequests()).toHaveLength(1);
    expect(keep.state.leases.size).toBe(1);
    const refused = await b.handle('credentials.list', c, {}, keep.signal).catch((e: ServiceError) => e);
    expect((refused as ServiceError).code).toBe('service.shutting_down');
  });

  it('keeps its leases when a config reload replaces it (the successor takes them over)', async () => {
    const h = brokerHarness();
    await h.broker.start();
    await checkOut(h, 's1');
    await h.broker.stop(1000, 'reload');
    expect(h.vault.openRequests()).toHaveLength(1);
    expect(h.state.leases.size).toBe(1);
  });

  it('bounds the shutdown check-in by the grace period and leaves the rest recorded', async () => {
    const h = brokerHarness();
    await h.broker.start();
    await checkOut(h, 's1');
    // A vault that hangs until the request is aborted.
    let called!: () => void;
    const checkinStarted = new Promise<void>((resolve) => (called = resolve));
    h.vault.checkin = async (_user: string, _id: string, _reason: string, signal?: AbortSignal) => {
      called();
      await new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    };
    const stopping = h.broker.stop(5_000);
    await checkinStarted;
    await h.clock.advance(5_000);
    await stopping;
    expect(h.state.leases.size).toBe(1);
    expect(h.lines.join('')).toContain('shutdown grace period over; leases left for expiry or recovery');
  });

  it("on start, checks in leases of a crashed instance and leaves a live replica's alone", async () => {
    const h = brokerHarness({ instanceId: 'instance-new' });
    // Three open vault requests: one of a crashed instance, one of a live replica.
    const crashed = await h.vault.checkout({
      vaultUser: 'jdoe@corp.example.com',
      account: { systemId: 10, accountId: 100, kind: 'password' },
      durationMinutes: 60,
      reason: 'x',
    });
    const live = await h.vault.checkout({
      vaultUser: 'jdoe@corp.example.com',
      account: { systemId: 10, accountId: 100, kind: 'password' },
      durationMinutes: 60,
      reason: 'x',
    });
    const auditId = await h.state.recordCredentialEvent({
      site: 'default',
      lsid: 'old-session',
      jumpItemId: 1,
      jumpItemName: 'web01 RDP',
      consoleUser: 'CORP\\jdoe',
      vaultUser: 'jdoe@corp.example.com',
      vaultRequestId: crashed.requestId,
      systemName: 'web01',
      accountName: 'Administrator',
      outcome: 'checked_out',
      errorCode: null,
      checkoutAt: new Date(T0 - 600_000),
      checkinAt: null,
    });
    await h.state.putLease({ ...orphan('instance-dead', crashed.requestId, new Date(T0 + 3_000_000)), auditId });
    await h.state.putLease(orphan('instance-live', live.requestId, new Date(T0 + 3_000_000)));
    await h.state.touchInstance('instance-dead', new Date(T0 - 5 * 60_000));
    await h.state.touchInstance('instance-live', new Date(T0 - 10_000));

    await h.broker.start();
    expect(h.vault.requests.get(crashed.requestId)?.checkedIn).toBe(true);
    expect(h.vault.requests.get(live.requestId)?.checkedIn).toBe(false);
    expect((await h.state.listCredentialEvents({ lsid: 'old-session' }))[0]).toMatchObject({
      outcome: 'checked_in',
      checkinAt: new Date(T0),
    });
    expect(h.lines.join('')).toContain('checking in leases left by a stopped bridge instance');
    expect(await h.metrics.metrics()).toContain('ecm_bridge_broker_checkins_total{reason="recovery"} 1');

    // The live replica stops sending heartbeats: the periodic sweep recovers its lease too.
    await h.clock.advance(90_000);
    await vi.waitFor(() => expect(h.vault.requests.get(live.requestId)?.checkedIn).toBe(true));
    // This instance kept its own heartbeat going.
    expect(h.state.instances.get('instance-new')?.getTime()).toBeGreaterThan(T0);
    await h.broker.stop(1000);
  });
});

describe('Broker leases sharing one vault request (ConflictOption reuse)', () => {
  it('checks the request in only when the last lease on it is released', async () => {
    const h = brokerHarness();
    h.vault.conflictOption = 'reuse';
    const first = await checkOut(h, 'session-1');
    const second = await checkOut(h, 'session-2');
    expect(h.vault.requests.size).toBe(1);
    await h.broker.handle('credentials.release', ctx(), { leaseId: first.leaseId }, h.signal);
    expect(h.vault.openRequests()).toHaveLength(1);
    expect((await h.state.listCredentialEvents({ lsid: 'session-1' }))[0]?.outcome).toBe('checked_in');
    await h.broker.handle('credentials.release', ctx(), { leaseId: second.leaseId }, h.signal);
    expect(h.vault.openRequests()).toEqual([]);
  });

  it('logs a lease id only as a short prefix (a lease id releases the credential), also in refusals', async () => {
    const h = brokerHarness();
    const lease = await checkOut(h);
    // Someone else's release is refused; its error details are logged with the failure.
    const stranger = ctx({ user: { username: 'CORP\\mallory' } });
    await expect(
      h.broker.handle('credentials.release', stranger, { leaseId: lease.leaseId }, h.signal),
    ).rejects.toMatchObject({ code: 'credential.id_invalid', details: { leaseId: `${lease.leaseId.slice(0, 8)}…` } });
    await h.broker.handle('credentials.release', ctx(), { leaseId: lease.leaseId }, h.signal);
    const log = h.lines.join('');
    expect(log).toContain('lease checked in');
    expect(log).toContain(`"leaseId":"${lease.leaseId.slice(0, 8)}…"`);
    expect(log).not.toContain(lease.leaseId);
  });
});
