import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridgeStack, type BridgeStack } from './bridge-stack.js';

/**
 * "Web servers" is restricted to local accounts (ps-broker-harness.ts). A credential id offered
 * for the same user and endpoint under an unrestricted group must not check a domain-linked
 * account out inside "Web servers": the restriction is applied again at get.
 */
describe('Jump Group restriction at credentials.get', () => {
  let s: BridgeStack;
  beforeAll(async () => {
    s = await startBridgeStack();
  });
  afterAll(async () => s?.close());

  const group = (name: string) => ({ jumpItem: { id: 1, name: 'web01 RDP', jumpGroup: { id: 2, name } } });

  it('an id offered under another group is refused for an account this group excludes', async () => {
    const list = await s.send({ op: 'credentials.list', ...group('Servers') });
    const domain = (list.result as { credentials: { id: string; source: string }[] }).credentials.find(
      (c) => c.source === 'domain-linked',
    )!;
    expect(domain).toBeDefined();
    const before = s.ps.sim.requests().length;
    const got = await s.send({ op: 'credentials.get', ...group('Web servers'), params: { credentialId: domain.id } });
    expect(got.error).toMatchObject({ code: 'forbidden' });
    expect(s.ps.sim.requests().length).toBe(before);
    const [event] = await s.state.listCredentialEvents({ lsid: 'sec-lsid-1' });
    expect(event).toMatchObject({ outcome: 'denied', errorCode: 'credential.id_invalid' });
  });

  it('a local account offered under the other group still checks out in "Web servers"', async () => {
    const list = await s.send({ op: 'credentials.list', ...group('Servers'), session: { lsid: 'sec-lsid-2' } });
    const local = (list.result as { credentials: { id: string; source: string }[] }).credentials.find(
      (c) => c.source === 'local',
    )!;
    const got = await s.send({
      op: 'credentials.get',
      ...group('Web servers'),
      session: { lsid: 'sec-lsid-2' },
      params: { credentialId: local.id },
    });
    expect(got.error).toBeUndefined();
    const leaseId = (got.result as { credential: { leaseId: string } }).credential.leaseId;
    await s.send({ op: 'credentials.release', session: { lsid: 'sec-lsid-2' }, params: { leaseId } });
  });
});
