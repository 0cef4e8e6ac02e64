import { describe, expect, it } from 'vitest';
import { brokerHandler } from '../../../src/appliance/broker-mapper.js';
import type { ConsoleRequest, CredentialBroker } from '../../../src/broker/broker-port.js';
import type { ServiceError } from '../../../src/platform/errors.js';
import { Secret } from '../../../src/platform/secret.js';
import type { RequestContext } from '../../../src/protocol/ecm-protocol.js';

const signal = new AbortController().signal;
const USER = { username: 'CORP\\jdoe' };

/** Records what the broker was asked, in its own vocabulary. */
function recordingBroker(seen: unknown[]): CredentialBroker {
  return {
    list: async (request, purpose) => (seen.push({ op: 'list', request, purpose }), []),
    get: async (request, credentialId) => {
      seen.push({ op: 'get', request, credentialId });
      return {
        id: credentialId,
        username: 'Administrator',
        password: new Secret('P@ss'),
        leaseId: 'lease-1',
        expiresAt: new Date(Date.UTC(2026, 0, 1)),
      };
    },
    release: async (request, ref) => (seen.push({ op: 'release', request, ref }), {}),
    search: async (request, query, limit) => (seen.push({ op: 'search', request, query, limit }), []),
    undelivered: async (answer) => void seen.push({ op: 'undelivered', answer }),
  };
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: ServiceError) => e,
  );

describe('brokerHandler (the wire ⇄ broker mapper)', () => {
  it('converts each op to the broker port with the site, and reveals the secret only in the answer', async () => {
    const seen: unknown[] = [];
    const h = brokerHandler(() => recordingBroker(seen), 'corp');
    expect(await h.handle('credentials.list', { user: USER }, {}, signal)).toEqual({ credentials: [] });
    const got = await h.handle('credentials.get', { user: USER }, { credentialId: 'cid' }, signal);
    expect(got.credential).toEqual({
      id: 'cid',
      username: 'Administrator',
      password: 'P@ss',
      leaseId: 'lease-1',
      expiresAt: '2026-01-01T00:00:00.000Z',
    });
    expect(await h.handle('credentials.release', { user: USER }, { leaseId: 'lease-1' }, signal)).toEqual({
      released: true,
    });
    await h.handle('jump.search', { user: USER }, { query: 'web', limit: 5 }, signal);
    // An answer it cannot place (not one of its get answers) is not the broker's business.
    await h.undelivered?.('credentials.get', { ...got });
    await h.undelivered?.('credentials.list', { credentials: [] });
    // The get answer itself goes back to the broker as the issued credential it answered with.
    await h.undelivered?.('credentials.get', got);
    const request: ConsoleRequest = { site: 'corp', user: USER };
    expect(seen).toEqual([
      { op: 'list', request, purpose: 'login' },
      { op: 'get', request, credentialId: 'cid' },
      { op: 'release', request, ref: { leaseId: 'lease-1' } },
      { op: 'search', request, query: 'web', limit: 5 },
      { op: 'undelivered', answer: expect.objectContaining({ id: 'cid', leaseId: 'lease-1' }) },
    ]);
  });

  it('says on release what had already checked the credential in: reason, and the time as ISO-8601 when known', async () => {
    const broker = recordingBroker([]);
    const at = new Date(Date.UTC(2026, 0, 1, 9, 30));
    const outcomes = [
      { alreadyCheckedIn: { reason: 'expiry', at } },
      { alreadyCheckedIn: { reason: 'recovery' } },
    ] as const;
    let answers = 0;
    const h = brokerHandler(() => ({ ...broker, release: async () => outcomes[answers++]! }), 'corp');
    expect(await h.handle('credentials.release', { user: USER }, { leaseId: 'lease-1' }, signal)).toEqual({
      released: true,
      alreadyCheckedIn: { reason: 'expiry', at: '2026-01-01T09:30:00.000Z' },
    });
    expect(await h.handle('credentials.release', { user: USER }, { leaseId: 'lease-1' }, signal)).toEqual({
      released: true,
      alreadyCheckedIn: { reason: 'recovery' },
    });
  });

  it('refuses malformed and oversized input before the broker sees it, naming the field', async () => {
    const seen: unknown[] = [];
    const h = brokerHandler(() => recordingBroker(seen), 'corp');
    const cases: [RequestContext, Record<string, unknown>, string, string][] = [
      [{ user: { username: '  ' } }, {}, 'request.bad', 'request.context.user.username is empty'],
      [{ user: { username: 'x'.repeat(600) } }, {}, 'request.too_large', 'request.context.user.username'],
      [{ user: { username: 'u', id: 'x' as never } }, {}, 'request.bad', 'request.context.user.id must be a number'],
      [{ user: USER, session: { lsid: 'l'.repeat(65) } }, {}, 'request.too_large', 'request.context.session.lsid'],
      [{ user: USER, endpoint: { ip: '1'.repeat(40_000) } }, {}, 'request.too_large', 'request.context.endpoint.ip'],
      [{ user: USER }, { purpose: 'steal' }, 'request.bad', 'request.params.purpose'],
      [{ user: USER }, [1] as never, 'request.bad', 'request.params must be an object'],
    ];
    for (const [context, params, code, message] of cases) {
      const err = await refusal(h.handle('credentials.list', context, params as never, signal));
      expect(err?.code, message).toBe(code);
      expect(err?.message).toContain(message);
    }
    expect((await refusal(h.handle('credentials.get', { user: USER }, {} as never, signal)))?.message).toBe(
      'request.params.credentialId is missing',
    );
    expect((await refusal(h.handle('credentials.release', { user: USER }, {}, signal)))?.code).toBe('request.bad');
    expect((await refusal(h.handle('credentials.list', undefined as never, {}, signal)))?.message).toBe(
      'request.context is missing',
    );
    expect(seen).toEqual([]);
  });

  it('fails retryably while no broker runs (a reload replacing it)', async () => {
    let current: CredentialBroker | undefined;
    const h = brokerHandler(() => current, 'corp');
    expect((await refusal(h.handle('credentials.list', { user: USER }, {}, signal)))?.code).toBe(
      'service.shutting_down',
    );
    await expect(h.undelivered?.('credentials.list', { credentials: [] })).resolves.toBeUndefined();
    current = recordingBroker([]);
    await expect(h.handle('credentials.list', { user: USER }, {}, signal)).resolves.toEqual({ credentials: [] });
  });
});
