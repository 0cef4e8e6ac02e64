import { describe, expect, it } from 'vitest';
import type { CredentialService } from '../../../src/broker/credential-service.js';
import { ServiceError } from '../../../src/platform/errors.js';
import { brokerHarness, ctx } from './broker-fixture.js';

/** The broker's credential service (the broker forwards `undelivered` to it). */
const credentials = (h: ReturnType<typeof brokerHarness>) =>
  (h.broker.domain as unknown as { p: { credentials: CredentialService } }).p.credentials;

async function credentialId(h: ReturnType<typeof brokerHarness>, c = ctx()) {
  return (await h.broker.handle('credentials.list', c, {}, h.signal)).credentials[0]!.id;
}

describe('Broker: checkouts the console never receives', () => {
  it('checks the lease in when the request is cancelled while the lease is recorded', async () => {
    const h = brokerHarness();
    const c = ctx();
    const id = await credentialId(h, c);
    const ac = new AbortController();
    const open = h.state.openLease.bind(h.state);
    h.state.openLease = async (event, lease) => {
      const auditId = await open(event, lease);
      ac.abort(new ServiceError('service.timeout', 'deadline passed'));
      return auditId;
    };
    const e = await h.broker.handle('credentials.get', c, { credentialId: id }, ac.signal).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ServiceError);
    expect((e as ServiceError).code).toBe('service.timeout');
    expect(h.vault.openRequests()).toEqual([]);
    expect(h.state.leases.size).toBe(0);
    const events = await h.state.listCredentialEvents({});
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: 'failed', errorCode: 'service.timeout' });
    expect(events[0]!.checkinAt).not.toBeNull();
  });

  it('throws a plain abort reason as a service timeout', async () => {
    const h = brokerHarness();
    const c = ctx();
    const id = await credentialId(h, c);
    const ac = new AbortController();
    const open = h.state.openLease.bind(h.state);
    h.state.openLease = async (event, lease) => {
      const auditId = await open(event, lease);
      ac.abort();
      return auditId;
    };
    const e = await h.broker.handle('credentials.get', c, { credentialId: id }, ac.signal).catch((x: unknown) => x);
    expect((e as ServiceError).code).toBe('service.timeout');
    expect(h.vault.openRequests()).toEqual([]);
    expect(h.state.leases.size).toBe(0);
  });

  it('an undelivered answer (the event, through the wire mapper) checks its credential in and marks the audit row failed', async () => {
    const h = brokerHarness();
    const c = ctx();
    const answer = await h.broker.handle('credentials.get', c, { credentialId: await credentialId(h, c) }, h.signal);
    expect(h.vault.openRequests()).toHaveLength(1);
    await h.broker.undelivered('credentials.get', answer);
    expect(h.vault.openRequests()).toEqual([]);
    expect(h.state.leases.size).toBe(0);
    expect((await h.state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'failed',
      errorCode: 'channel.closed',
    });
    // Idempotent: an answer already handled, or one whose lease is unknown, is fine.
    await h.broker.undelivered('credentials.get', answer);
    const issued = { id: 'x', username: 'u', leaseId: 'no-such-lease', expiresAt: new Date(0) };
    await credentials(h).undelivered(issued);
  });

  it('an undelivered answer never throws; a failed check-in leaves the lease for the sweeper', async () => {
    const h = brokerHarness();
    const c = ctx();
    const answer = await h.broker.handle('credentials.get', c, { credentialId: await credentialId(h, c) }, h.signal);
    h.vault.failNext('checkin', new ServiceError('vault.unavailable', 'vault down'));
    await expect(h.broker.undelivered('credentials.get', answer)).resolves.toBeUndefined();
    expect(h.state.leases.size).toBe(1);
    expect(h.vault.openRequests()).toHaveLength(1);
  });
});
