import { describe, expect, it, vi } from 'vitest';
import { ServiceError } from '../../src/platform/errors.js';
import { brokerHarness, ctx } from '../unit/broker/broker-fixture.js';
import { HANG } from '../helpers/until.js';

// Issue 11 item 5c: a check-in that fails at release is put back; the sweep must retry it (with
// backoff) long before the lease expires, not leave the credential released until then.
async function checkOut(h: ReturnType<typeof brokerHarness>) {
  const c = ctx({ session: { lsid: 'c0ffee01', externalKey: 'CHG-1' } });
  const id = (await h.broker.handle('credentials.list', c, {}, h.signal)).credentials[0]!.id;
  return { c, credential: (await h.broker.handle('credentials.get', c, { credentialId: id }, h.signal)).credential };
}
const checkins = (h: ReturnType<typeof brokerHarness>) => h.vault.calls.filter((c) => c.method === 'checkin').length;

describe('failed check-in at release (issue 11, 5c)', () => {
  it('the next sweep retries it, backing off after each failure, and closes the audit row as released', async () => {
    const h = brokerHarness(); // sweep every 30 s, leases of 30 min
    await h.broker.start();
    const { c, credential } = await checkOut(h);
    const down = () => new ServiceError('vault.unavailable', 'vault down');
    h.vault.failNext('checkin', down());
    await expect(
      h.broker.handle('credentials.release', c, { leaseId: credential.leaseId }, h.signal),
    ).rejects.toMatchObject({ code: 'vault.unavailable' });
    expect(h.state.leases.get(credential.leaseId)?.checkinRetry).toMatchObject({ attempts: 1, reason: 'release' });

    h.vault.failNext('checkin', down());
    await h.clock.advance(30_000); // first retry: one sweep interval later
    await vi.waitFor(() => expect(checkins(h)).toBe(2), HANG);
    await vi.waitFor(() => expect(h.state.leases.get(credential.leaseId)?.checkinRetry?.attempts).toBe(2), HANG);
    // The second retry waits two sweep intervals.
    expect(h.state.leases.get(credential.leaseId)?.checkinRetry?.at.getTime()).toBe(h.clock.now() + 60_000);

    await h.clock.advance(60_000);
    await vi.waitFor(() => expect(h.vault.openRequests()).toEqual([]), HANG);
    expect(checkins(h)).toBe(3);
    expect(h.state.leases.size).toBe(0);
    expect((await h.state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'checked_in',
      checkinReason: 'release',
      checkinBy: 'instance-a',
    });
    await h.broker.stop(1000);
  });
});
