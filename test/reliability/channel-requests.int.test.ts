import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_DEADLINE_MS } from '../helpers/deadlines.js';
import { JDOE_CONTEXT, startBridgeStack, type BridgeStack } from '../security/bridge-stack.js';

/**
 * The ECM channel is shared by every console user of a site: one malformed or repeated request
 * must neither take it down nor run twice. Over the whole stack (appliance simulator -> bridge ->
 * Password Safe simulator).
 */
describe('requests on a shared ECM channel', () => {
  let s: BridgeStack;
  beforeAll(async () => {
    s = await startBridgeStack();
  });
  afterAll(async () => s?.close());

  const hub = () => s.appliance.hub;
  const frame = (id: string, op: string, params = '{}') =>
    `{"type":"request","id":"${id}","op":${op},"deadlineMs":${CONSOLE_DEADLINE_MS},"context":${JSON.stringify(JDOE_CONTEXT)},"params":${params}}`;

  it('an op that is an object without a callable toString, or a 100,000-deep array, is answered bad_request', async () => {
    const hostile = await hub().sendRequest(
      'Default',
      'op-object',
      frame('op-object', '{"toString":1}'),
      CONSOLE_DEADLINE_MS,
    );
    expect(hostile).toMatchObject({ answeredBy: 'ecm', error: { code: 'bad_request' } });
    expect(hostile.error?.message).toBe('unknown op (not a string)');
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const nested = await hub().sendRequest('Default', 'op-deep', frame('op-deep', deep), CONSOLE_DEADLINE_MS);
    expect(nested).toMatchObject({
      answeredBy: 'ecm',
      error: { code: 'bad_request', message: 'unknown op (not a string)' },
    });
  });

  it('a Jump Group name of the wrong type is bad_request, not internal', async () => {
    const outcome = await s.send({ jumpItem: { jumpGroup: { name: ['Servers'] as never } } });
    expect(outcome.error).toMatchObject({ code: 'bad_request' });
    expect(outcome.error?.message).toMatch(/request\.context\.jumpItem\.jumpGroup\.name must be a string/);
  });

  it('the channel is still the same one and serves the next console user', async () => {
    expect(await s.started.link.status().state).toBe('connected');
    expect(hub().connections()).toHaveLength(1);
    const ok = await s.send({ op: 'credentials.list' });
    expect((ok.result as { credentials: unknown[] }).credentials.length).toBeGreaterThan(0);
  });

  it('a repeated request id is executed once: one checkout at the vault, one answer', async () => {
    const list = await s.send({ op: 'credentials.list', session: { lsid: 'dup-lsid' } });
    const credentialId = (list.result as { credentials: { id: string }[] }).credentials[0]!.id;
    const before = s.ps.sim.requests().length;
    const ctx = { ...JDOE_CONTEXT, session: { lsid: 'dup-lsid' } };
    // Both frames carry a generous deadline: the bridge runs the first and drops the repeat. The
    // hub keeps one pending entry per id, the second call's, which receives the ECM's one answer
    // whenever it comes; the first call's own short timer answers it with the appliance's timeout.
    const text = frame('dup-id-1', '"credentials.get"', JSON.stringify({ credentialId })).replace(
      JSON.stringify(JDOE_CONTEXT),
      JSON.stringify(ctx),
    );
    const [first, second] = await Promise.all([
      hub().sendRequest('Default', 'dup-id-1', text, 1000),
      hub().sendRequest('Default', 'dup-id-1', text, CONSOLE_DEADLINE_MS),
    ]);
    expect(s.ps.sim.requests().length - before).toBe(1);
    expect(first).toMatchObject({ answeredBy: 'appliance', applianceReason: 'timeout' });
    expect(second!.answeredBy).toBe('ecm');
    expect(second!.result).toMatchObject({ credential: { username: expect.any(String) } });
    expect(hub().stats).toMatchObject({ duplicateResponses: 0 });
    const leaseId = (second!.result as { credential: { leaseId: string } }).credential.leaseId;
    await s.send({ op: 'credentials.release', session: { lsid: 'dup-lsid' }, params: { leaseId } });
  });
});
