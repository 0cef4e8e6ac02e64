import { describe, expect, it, vi } from 'vitest';
import { ServiceError } from '../../src/platform/errors.js';
import { brokerHarness, ctx } from '../unit/broker/broker-fixture.js';
import { HANG } from '../helpers/until.js';

// Issue 11 item 5a: `POST Requests` answered after the client gave up. The adapter's immediate
// lookup finds nothing yet and reports vault.unavailable; the request appears in the vault a
// moment later. The intent recorded before the POST lets the sweep find it and check it in.
describe('a checkout whose answer was lost (issue 11, 5a)', () => {
  it('the sweep finds the late request among the vault user’s active requests and checks it in', async () => {
    const h = brokerHarness(); // sweep every 30 s, staleAfterSeconds 90
    await h.broker.start();
    const c = ctx({ session: { lsid: 'c0ffee01', externalKey: 'CHG-1' } });
    const id = (await h.broker.handle('credentials.list', c, {}, h.signal)).credentials[0]!.id;
    const vaultCheckout = h.vault.checkout.bind(h.vault);
    let late: Parameters<typeof vaultCheckout> | undefined;
    h.vault.checkout = async (...args) => {
      late = args; // Password Safe acts on the POST, but its answer never arrives
      throw new ServiceError('vault.unavailable', 'the release request timed out; no release request was found for it');
    };
    await expect(h.broker.handle('credentials.get', c, { credentialId: id }, h.signal)).rejects.toMatchObject({
      code: 'vault.unavailable',
    });
    expect((await h.state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'failed',
      errorCode: 'vault.unavailable',
    });
    await vaultCheckout(late![0]); // ... and the request shows up a second later
    expect(h.vault.openRequests()).toHaveLength(1);

    await h.clock.advance(30_000);
    await vi.waitFor(() => expect(h.vault.openRequests()).toEqual([]), HANG);
    await vi.waitFor(() => expect(h.state.leases.size).toBe(0), HANG);
    expect((await h.state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'failed',
      errorCode: 'vault.unavailable',
      vaultRequestId: '1000',
      checkinReason: 'abandoned',
    });
    await h.broker.stop(1000);
  });

  it('drops the intent when no request appears within staleAfterSeconds', async () => {
    const h = brokerHarness();
    await h.broker.start();
    const c = ctx();
    const id = (await h.broker.handle('credentials.list', c, {}, h.signal)).credentials[0]!.id;
    h.vault.failNext('checkout', new ServiceError('vault.unavailable', 'the release request timed out'));
    await expect(h.broker.handle('credentials.get', c, { credentialId: id }, h.signal)).rejects.toMatchObject({
      code: 'vault.unavailable',
    });
    expect(h.state.leases.size).toBe(1);
    for (let t = 0; t < 8 && h.state.leases.size > 0; t++) await h.clock.advance(30_000);
    await vi.waitFor(() => expect(h.state.leases.size).toBe(0), HANG);
    expect(h.vault.calls.filter((x) => x.method === 'checkin')).toEqual([]);
    expect((await h.state.listCredentialEvents({}))[0]).toMatchObject({ outcome: 'failed', checkinReason: 'none' });
    await h.broker.stop(1000);
  });

  it('a definite refusal leaves no intent behind', async () => {
    const h = brokerHarness();
    const id = (await h.broker.handle('credentials.list', ctx(), {}, h.signal)).credentials[0]!.id;
    h.vault.failNext('checkout', new ServiceError('vault.forbidden', 'not allowed'));
    await expect(h.broker.handle('credentials.get', ctx(), { credentialId: id }, h.signal)).rejects.toMatchObject({
      code: 'vault.forbidden',
    });
    expect(h.state.leases.size).toBe(0);
    expect(await h.state.listCredentialEvents({})).toMatchObject([{ outcome: 'denied', errorCode: 'vault.forbidden' }]);
  });
});
