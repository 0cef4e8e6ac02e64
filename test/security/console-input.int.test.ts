import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestContext } from '../../src/protocol/ecm-protocol.js';
import { startBridgeStack, type BridgeStack } from './bridge-stack.js';

/**
 * Hostile console input through the whole stack (console driver -> appliance simulator -> ECM
 * channel -> broker -> Password Safe simulator): every field is typed and bounded at the ECM
 * edge, the answer names the field, and the channel keeps serving everybody else.
 */
describe('console input at the ECM edge', () => {
  let s: BridgeStack;
  beforeAll(async () => {
    s = await startBridgeStack();
  });
  afterAll(async () => s?.close());

  const hostile: [string, Partial<RequestContext>, RegExp][] = [
    [
      '40,000-character ip',
      { endpoint: { ip: '%'.repeat(39_999) + '\n' } },
      /request\.context\.endpoint\.ip is longer than 64/,
    ],
    [
      '40,000-character hostname',
      { endpoint: { hostname: '-eyJ'.repeat(10_000) } },
      /request\.context\.endpoint\.hostname is longer than 255/,
    ],
    [
      '40,000-character lsid',
      { session: { lsid: 'a'.repeat(40_000) } },
      /request\.context\.session\.lsid is longer than 64/,
    ],
    ['65-character lsid', { session: { lsid: 'b'.repeat(65) } }, /request\.context\.session\.lsid is longer than 64/],
    [
      'lsid with a space and a quote',
      { session: { lsid: "x' OR 1=1" } },
      /request\.context\.session\.lsid must contain only letters, digits/,
    ],
    [
      'Jump Group name that is an object',
      { jumpItem: { jumpGroup: { name: { toString: 1 } as never } } },
      /request\.context\.jumpItem\.jumpGroup\.name must be a string/,
    ],
    [
      'username of 10,000 characters',
      { user: { username: 'CORP\\' + 'a'.repeat(10_000) } },
      /request\.context\.user\.username is longer than 512/,
    ],
  ];

  it.each(hostile)('%s: bad_request naming the field, the handler never runs', async (_name, over, message) => {
    const before = s.ps.sim.calls();
    const outcome = await s.send({ op: 'credentials.list', ...over } as never);
    expect(outcome.answeredBy).toBe('ecm');
    expect(outcome.error).toMatchObject({ code: 'bad_request', retryable: false });
    expect(outcome.error!.message).toMatch(message);
    expect(outcome.error!.message.length).toBeLessThan(200);
    expect(s.ps.sim.calls()).toBe(before);
  });

  it('the channel stayed up through all of it and still serves a normal request', async () => {
    const outcome = await s.send({ op: 'credentials.list' });
    expect(outcome.error).toBeUndefined();
    expect((outcome.result as { credentials: unknown[] }).credentials.length).toBeGreaterThan(0);
    expect(s.started.link.status().state).toBe('connected');
    expect(s.appliance.hub.connections()).toHaveLength(1);
  });

  it('an lsid of exactly 64 characters is accepted and audited', async () => {
    const lsid = 'L'.repeat(64);
    const list = await s.send({ op: 'credentials.list', session: { lsid } });
    const id = (list.result as { credentials: { id: string }[] }).credentials[0]!.id;
    const got = await s.send({ op: 'credentials.get', session: { lsid }, params: { credentialId: id } });
    expect(got.error).toBeUndefined();
    const leaseId = (got.result as { credential: { leaseId: string } }).credential.leaseId;
    await s.send({ op: 'credentials.release', session: { lsid }, params: { leaseId } });
    expect(await s.state.listCredentialEvents({ lsid })).toEqual([
      expect.objectContaining({ lsid, outcome: 'checked_in' }),
    ]);
  });
});
