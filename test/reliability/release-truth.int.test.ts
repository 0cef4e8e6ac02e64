import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store-ports.js';
import { reportSkipped } from '../helpers/mssql-url.js';
import { sharedStores } from '../helpers/shared-stores.js';
import { startBridgeStack, type BridgeStack } from '../security/bridge-stack.js';

type Credential = { id: string; source: string };
type Answer = { credential: { leaseId: string } };

/**
 * Issue 29 point 8: a console whose credential the bridge checked in behind its back (here: the
 * graceful stop of the replica that issued it, the last one on its store) learns it when it
 * releases, through the simulator's console driver over real sockets. Two replicas (each its own
 * appliance, channel and broker) share one Password Safe simulator and one state store: the
 * in-memory reference and, with MSSQL_URL, SQL Server (the T-SQL engine in CI).
 */
reportSkipped('a truthful release on a SQL Server store');
const STORES = sharedStores('truthful release');

describe.each(STORES)('a release tells the console what already ended its credential (%s)', (_name, open) => {
  let store: Store;
  let a: BridgeStack;
  let b: BridgeStack;
  // Session ids unique to this run: a SQL Server database is reused between runs.
  const run = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  beforeAll(async () => {
    store = await open();
    await store.migrate();
    a = await startBridgeStack(store.state, { instanceId: `replica-a-${run}` });
    b = await startBridgeStack(store.state, { instanceId: `replica-b-${run}`, ps: a.ps });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await store?.close();
  });

  const checkOut = async (s: BridgeStack, lsid: string): Promise<string> => {
    const list = await s.send({ op: 'credentials.list', session: { lsid } });
    const credentialId = (list.result as { credentials: Credential[] }).credentials.find(
      (c) => c.source === 'local',
    )!.id;
    const got = await s.send({ op: 'credentials.get', session: { lsid }, params: { credentialId } });
    expect(got.error).toBeUndefined();
    return (got.result as Answer).credential.leaseId;
  };
  const release = (s: BridgeStack, lsid: string, leaseId: string) =>
    s.send({ op: 'credentials.release', session: { lsid }, params: { leaseId } });

  it('checked in by a shutdown: the release says so and when; a repeat of its own release and an unknown id are plain', async () => {
    const lsid = `truth-${run}`;
    const leaseId = await checkOut(a, lsid);
    await a.broker.stop(10_000); // SIGTERM of the replica that issued it: it checks its leases in
    expect(await store.state.getLease(leaseId)).toBeUndefined();
    const [row] = await store.state.listCredentialEvents({ lsid });
    expect(row).toMatchObject({ outcome: 'checked_in', checkinReason: 'shutdown' });

    const answer = await release(b, lsid, leaseId);
    expect(answer.error).toBeUndefined();
    expect(answer.result).toEqual({
      released: true,
      alreadyCheckedIn: { reason: 'shutdown', at: row!.checkinAt!.toISOString() },
    });

    const mine = await checkOut(b, `${lsid}-2`);
    expect((await release(b, `${lsid}-2`, mine)).result).toEqual({ released: true });
    expect((await release(b, `${lsid}-2`, mine)).result).toEqual({ released: true });
    expect((await release(b, lsid, '3f1c9a7e-0000-4000-8000-000000000000')).result).toEqual({ released: true });
    // The lease id itself is logged nowhere, nor stored on the audit row.
    expect(b.lines.join('')).toContain('released a lease the bridge had already checked in');
    expect(b.lines.join('') + a.lines.join('')).not.toContain(leaseId);
    expect(JSON.stringify(await store.state.listCredentialEvents({ lsid }))).not.toContain(leaseId);
  });
});
