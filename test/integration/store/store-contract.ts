import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isServiceError } from '../../../src/platform/errors.js';
import { CREDENTIAL_OUTCOMES } from '../../../src/broker/audit-states.js';
import { mayMove, type Lease } from '../../../src/broker/lease-store-port.js';
import { quarantineEntry } from '../../../src/reporting/rejected-session.js';
import type { MissingRecording } from '../../../src/reporting/report-store-port.js';
import type { SessionRecord } from '../../../src/reporting/session-record.js';
import type { Store } from '../../../src/store/store-ports.js';
import { makeEvent, makeSession } from './session-fixture.js';

/** A custom_attribute value on which `injectFailure` makes the database itself fail the insert. */
export const FAIL_VALUE = '__fail_this_insert__';

export interface ContractTarget {
  /** Opens a store (it may hold rows of earlier runs: every test uses its own keys). */
  open(): Promise<Store>;
  /** session.id by lsid, straight from the database; absent for the fake, which has no ids. */
  sessionIds?(store: Store, lsids: string[]): Promise<Map<string, number>>;
  /**
   * Installs a database-side failure on inserting a custom_attribute with FAIL_VALUE (a trigger,
   * or on SQL Server a CHECK constraint: the T-SQL engine of the CI does not fire triggers on bulk
   * insert, and a constraint fails the same statement on both).
   */
  injectFailure?(store: Store): Promise<void>;
}

let unique = 0;
/** Keys unique to this run, so a shared SQL Server database can be reused between runs. */
const key = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}-${++unique}`;

/** A claim of 2100, after every lease's retry time in these tests. */
const CLAIM = { now: new Date(Date.UTC(2100, 0, 1)), until: new Date(Date.UTC(2100, 0, 2)), reason: 'release' };

/** Claims a lease and, when the claim succeeded, finishes it: the whole check-in of a lease (its audit row untouched). */
async function take(store: Store, leaseId: string, consoleUser?: string, spend = false) {
  const taken = await store.state.claimCheckin(leaseId, {
    ...CLAIM,
    ...(consoleUser !== undefined && { consoleUser }),
    spend,
  });
  if (taken) await store.state.finishCheckin(leaseId, {});
  return taken;
}

/** Dated 2099 so that no lease sweep (of anything sharing the database) takes them as expired. */
export function lease(id: string, owner: string, expiresAt: Date): Lease {
  return {
    leaseId: id,
    vaultRequestId: `req-${id}`,
    owner,
    site: 'corp-pra',
    consoleUser: 'zoë',
    vaultUser: 'CORP\\zoe',
    systemId: 12,
    systemName: 'srv-01',
    accountId: 34,
    accountName: 'Administrator',
    lsid: null,
    auditId: 9,
    createdAt: new Date(Date.UTC(2099, 10, 22, 10, 0, 0)),
    expiresAt,
  };
}

/** The audit row of a checkout intent (`requested`, no vault request yet) of session `lsid`. */
function requestedEvent(lsid: string) {
  return {
    site: 'corp-pra',
    lsid,
    jumpItemId: null,
    jumpItemName: null,
    consoleUser: 'zoë',
    vaultUser: 'CORP\\zoe',
    vaultRequestId: null,
    systemName: 'srv-01' as string | null,
    accountName: 'Administrator' as string | null,
    outcome: 'requested' as const,
    errorCode: null,
    checkoutAt: null,
    checkinAt: null,
  };
}

/** The behaviour every Store adapter must show, run against each of them. */
export function describeStoreContract(name: string, target: ContractTarget): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await target.open();
      await store.migrate();
    });
    afterAll(async () => store?.close());

    it('migrates to a version, reports it, and a second migrate changes nothing', async () => {
      const v = await store.schemaVersion();
      expect(v).toBeGreaterThan(0);
      expect(await store.migrate()).toBe(v);
      expect(await store.health()).toBeUndefined();
    });

    it('round-trips a full session: Unicode, every child table, a 100 KB body', async () => {
      const big = 'Ω≈ç√∫ 😀 '.repeat(12_800); // > 100 KB of UTF-16, with astral characters
      const s = makeSession(key('rt'), {
        events: [
          makeEvent(0, new Date(Date.UTC(2026, 0, 1))),
          makeEvent(1, new Date(Date.UTC(2026, 0, 1)), big),
          makeEvent(2, new Date(Date.UTC(2026, 0, 1))),
        ],
      });
      expect(await store.reports.writeSessions([s])).toEqual({ inserted: 1, updated: 0 });
      const back = await store.reports.readSession(s.hostName, s.lsid);
      expect(back).toEqual(s);
      expect(back!.events[1]!.body!.length).toBe(big.length);
    });

    it('is idempotent: the same batch twice gives the same rows', async () => {
      const batch = [makeSession(key('idem')), makeSession(key('idem'))];
      const before = await store.reports.tableCounts();
      expect(await store.reports.writeSessions(batch)).toEqual({ inserted: 2, updated: 0 });
      const once = await store.reports.tableCounts();
      expect(await store.reports.writeSessions(batch)).toEqual({ inserted: 0, updated: 2 });
      expect(await store.reports.tableCounts()).toEqual(once);
      expect(once.session! - before.session!).toBe(2);
      expect(once.session_event! - before.session_event!).toBe(6);
    });

    it('keeps the last occurrence when a batch lists a session twice', async () => {
      const lsid = key('dup');
      const r = await store.reports.writeSessions([
        makeSession(lsid, { externalKey: 'old' }),
        makeSession(lsid, { externalKey: 'new' }),
      ]);
      expect(r).toEqual({ inserted: 1, updated: 0 });
      expect((await store.reports.readSession('access.example.com', lsid))!.externalKey).toBe('new');
    });

    it('updates a session that moved from in progress to ended: children replaced, ids kept', async () => {
      const [a, b] = [key('prog'), key('other')];
      const running = makeSession(a, { endTime: null, duration: null, chatViewUrl: null }, 2);
      await store.reports.writeSessions([running, makeSession(b)]);
      const idsBefore = await target.sessionIds?.(store, [a, b]);
      const before = await store.reports.tableCounts();

      const ended = makeSession(
        a,
        { customAttributes: [{ codeName: 'ticket', displayName: 'Ticket', value: 'INC-2' }] },
        5,
      );
      expect(await store.reports.writeSessions([ended])).toEqual({ inserted: 0, updated: 1 });
      expect(await store.reports.readSession(ended.hostName, a)).toEqual(ended);
      const after = await store.reports.tableCounts();
      expect(after.session).toBe(before.session);
      expect(after.session_event! - before.session_event!).toBe(3);
      expect(after.custom_attribute! - before.custom_attribute!).toBe(-1);
      expect(await store.reports.readSession(ended.hostName, b)).toEqual(makeSession(b));
      if (target.sessionIds) expect(await target.sessionIds(store, [a, b])).toEqual(idsBefore);
    });

    it('a batch of new and re-pulled sessions: events changed, dropped and added, nothing duplicated or lost', async () => {
      const [a, b, c, d] = [key('mix-a'), key('mix-b'), key('mix-c'), key('mix-d')];
      const start = new Date(Date.UTC(2026, 10, 20, 8, 0, 0));
      const first = [makeSession(a, { endTime: null, duration: null }, 4), makeSession(b)];
      await store.reports.writeSessions(first);
      const idsBefore = await target.sessionIds?.(store, [a, b]);
      const before = await store.reports.tableCounts();

      const [e0, e1, , e3] = first[0]!.events;
      const changed = { ...e1!, body: 'edited', data: [{ name: 'protocol', value: 'SSH' }], files: [] };
      const added = [makeEvent(4, start), makeEvent(6, start, null)];
      const batch = [
        makeSession(c, {}, 2),
        // a: event 1 changed (body, data, files), event 2 gone, events 4 and 6 new, 0 and 3 as they were.
        makeSession(a, { customers: [] }, 0),
        first[1]!,
        makeSession(d, {}, 1),
      ];
      batch[1] = { ...batch[1]!, events: [e0!, changed, e3!, ...added] };
      const rows = (s: SessionRecord) => ({
        events: s.events.length,
        data: s.events.reduce((n, e) => n + e.data.length, 0),
        files: s.events.reduce((n, e) => n + Math.max(0, e.files.length - 1), 0),
        info: s.events.reduce((n, e) => n + e.systemInformation.length, 0),
      });
      const delta = (f: (r: ReturnType<typeof rows>) => number) =>
        f(rows(batch[0]!)) + f(rows(batch[1]!)) - f(rows(first[0]!)) + f(rows(batch[3]!));

      for (let round = 0; round < 2; round++) {
        expect(await store.reports.writeSessions(batch)).toEqual(
          round === 0 ? { inserted: 2, updated: 2 } : { inserted: 0, updated: 4 },
        );
        for (const s of batch) expect(await store.reports.readSession(s.hostName, s.lsid)).toEqual(s);
        const after = await store.reports.tableCounts();
        expect(after.session! - before.session!).toBe(2);
        expect(after.session_event! - before.session_event!).toBe(delta((r) => r.events));
        expect(after.session_event_data! - before.session_event_data!).toBe(delta((r) => r.data));
        expect(after.session_event_file! - before.session_event_file!).toBe(delta((r) => r.files));
        expect(after.system_information! - before.system_information!).toBe(delta((r) => r.info));
        expect(after.customer! - before.customer!).toBe(1);
        if (target.sessionIds) {
          const ids = await target.sessionIds(store, [a, b]);
          expect(ids).toEqual(idsBefore);
        }
      }
    });

    it('keeps sessions of different sites apart (host_name is part of the key)', async () => {
      const lsid = key('site');
      await store.reports.writeSessions([
        makeSession(lsid),
        makeSession(lsid, { hostName: 'rs.example.com', type: 'support' }),
      ]);
      expect((await store.reports.readSession('rs.example.com', lsid))!.hostName).toBe('rs.example.com');
      expect((await store.reports.readSession('access.example.com', lsid))!.hostName).toBe('access.example.com');
      expect(await store.reports.readSession('nowhere.example.com', lsid)).toBeUndefined();
    });

    it('moves the cursor with the batch, in the same transaction', async () => {
      const cursorKey = key('cursor');
      await store.reports.writeSessions([makeSession(key('cur'))], { key: cursorKey, value: '1763800000' });
      expect(await store.state.getCursor(cursorKey)).toBe('1763800000');
      await store.state.setCursor(cursorKey, '1763900000');
      expect(await store.state.getCursor(cursorKey)).toBe('1763900000');
      expect(await store.state.getCursor(key('absent'))).toBeUndefined();
    });

    it('rejects a value that would not fit its column, naming it, and writes nothing of the batch', async () => {
      const [ok, bad, cursorKey] = [key('fits'), key('long'), key('cursor')];
      const before = await store.reports.tableCounts();
      const err = await store.reports
        .writeSessions(
          [makeSession(ok), makeSession(bad, { jumpGroup: { id: 1, type: 'shared', name: 'x'.repeat(451) } })],
          { key: cursorKey, value: 'moved' },
        )
        .catch((e: unknown) => e);
      expect(isServiceError(err, 'store.write_failed')).toBe(true);
      expect((err as Error).message).toContain('session.jump_group_name is 451 characters, longer than its 450');
      expect(await store.reports.tableCounts()).toEqual(before);
      expect(await store.state.getCursor(cursorKey)).toBeUndefined();
    });

    // Only targets with a database to fail (the fake has none) define this test.
    const injectFailure = target.injectFailure;
    if (injectFailure)
      it('atomicity: a database failure mid-batch leaves no partial session and no cursor move', async () => {
        await injectFailure(store);
        const [kept, fresh, failing, cursorKey] = [key('kept'), key('fresh'), key('failing'), key('cursor')];
        const original = makeSession(kept);
        await store.reports.writeSessions([original], { key: cursorKey, value: 'before' });
        const before = await store.reports.tableCounts();
        const err = await store.reports
          .writeSessions(
            [
              makeSession(kept, { endTime: null }, 7),
              makeSession(fresh),
              makeSession(failing, { customAttributes: [{ codeName: 'x', displayName: 'X', value: FAIL_VALUE }] }),
            ],
            { key: cursorKey, value: 'after' },
          )
          .catch((e: unknown) => e);
        expect(isServiceError(err, 'store.write_failed')).toBe(true);
        expect(await store.reports.tableCounts()).toEqual(before);
        expect(await store.reports.readSession(original.hostName, kept)).toEqual(original);
        expect(await store.reports.readSession(original.hostName, fresh)).toBeUndefined();
        expect(await store.state.getCursor(cursorKey)).toBe('before');
      });

    it('leases: put, get, list by owner and expiry, take exactly once', async () => {
      const [l1, l2, owner] = [key('lease'), key('lease'), key('owner')];
      await store.state.putLease(lease(l1, owner, new Date(Date.UTC(2099, 10, 22, 11, 0, 0))));
      await store.state.putLease(lease(l2, owner, new Date(Date.UTC(2099, 10, 22, 13, 0, 0))));
      expect(await store.state.getLease(l1)).toEqual(lease(l1, owner, new Date(Date.UTC(2099, 10, 22, 11, 0, 0))));
      expect((await store.state.listLeases({ owner })).map((l) => l.leaseId)).toEqual([l1, l2]);
      expect(
        (await store.state.listLeases({ owner, expiresBefore: new Date(Date.UTC(2099, 10, 22, 12, 0, 0)) })).map(
          (l) => l.leaseId,
        ),
      ).toEqual([l1]);
      const takes = await Promise.all([take(store, l1), take(store, l1), take(store, l1)]);
      expect(takes.filter((t) => t !== undefined).map((t) => t!.lease.leaseId)).toEqual([l1]);
      expect(await store.state.getLease(l1)).toBeUndefined();
      expect(await take(store, l1)).toBeUndefined();
    });

    it('leases: openLease writes the audit row and the lease together, the lease pointing at the row', async () => {
      const [id, lsid] = [key('open'), key('open-lsid').slice(0, 60)];
      const { auditId: _, ...body } = { ...lease(id, key('owner'), new Date(Date.UTC(2099, 10, 22, 11, 0, 0))), lsid };
      const event = {
        site: 'corp-pra',
        lsid,
        jumpItemId: 5,
        jumpItemName: 'srv-01 (RDP)',
        consoleUser: 'zoë',
        vaultUser: 'CORP\\zoe',
        vaultRequestId: body.vaultRequestId,
        systemName: 'srv-01',
        accountName: 'Administrator',
        outcome: 'checked_out' as const,
        errorCode: null,
        checkoutAt: new Date(Date.UTC(2099, 10, 22, 10, 0, 0)),
        checkinAt: null,
      };
      const auditId = await store.state.openLease(event, body);
      expect(await store.state.getLease(id)).toEqual({ ...body, auditId });
      expect(await store.state.listCredentialEvents({ lsid })).toEqual([
        { ...event, checkinBy: null, checkinReason: null, id: auditId },
      ]);
      // A lease id already recorded fails the whole write: no audit row without its lease.
      const again = await store.state.openLease(event, body).catch((e: unknown) => e);
      expect(isServiceError(again)).toBe(true);
      expect(await store.state.listCredentialEvents({ lsid })).toHaveLength(1);
    });

    it('leases: an intent (no vault request yet, audit row requested) is confirmed in one statement', async () => {
      const [id, lsid] = [key('intent'), key('intent-lsid').slice(0, 60)];
      const { auditId: _, ...body } = {
        ...lease(id, key('owner'), new Date(Date.UTC(2099, 10, 22, 11, 0, 0))),
        lsid,
        vaultRequestId: null,
      };
      const event = requestedEvent(lsid);
      const auditId = await store.state.openLease(event, body);
      expect(await store.state.getLease(id)).toEqual({ ...body, auditId });
      expect(await store.state.holdsRequest('CORP\\zoe', 'req-none')).toBe(false);
      const [expires, at] = [new Date(Date.UTC(2099, 10, 22, 11, 30, 0)), new Date(Date.UTC(2099, 10, 22, 10, 1, 0))];
      await store.state.confirmLease(id, 'req-77', expires, at);
      expect(await store.state.getLease(id)).toEqual({
        ...body,
        auditId,
        vaultRequestId: 'req-77',
        expiresAt: expires,
      });
      expect(await store.state.listCredentialEvents({ lsid })).toMatchObject([
        { id: auditId, outcome: 'checked_out', vaultRequestId: 'req-77', checkoutAt: at },
      ]);
      await take(store, id);
    });

    it('leases: take says whether another lease holds the vault request; by console user only for that user', async () => {
      const owner = key('owner');
      const [a, b, c] = [key('shared'), key('shared'), key('alone')];
      const expires = new Date(Date.UTC(2099, 10, 22, 11, 0, 0));
      const onRequest = (id: string, request: string): Lease => ({
        ...lease(id, owner, expires),
        vaultRequestId: request,
      });
      const request = key('req');
      await store.state.putLease(onRequest(a, request));
      await store.state.putLease(onRequest(b, request));
      await store.state.putLease(lease(c, owner, expires));
      expect(await store.state.holdsRequest('CORP\\zoe', request)).toBe(true);
      expect(await store.state.holdsRequest('CORP\\other', request)).toBe(false);
      expect(await take(store, a, 'someone else')).toBeUndefined();
      const claimed = { attempts: 0, at: CLAIM.until, reason: 'release' };
      expect(await take(store, a, 'zoë')).toEqual({
        lease: { ...onRequest(a, request), checkinRetry: claimed },
        shared: true,
      });
      expect(await take(store, b)).toEqual({
        lease: { ...onRequest(b, request), checkinRetry: claimed },
        shared: false,
      });
      expect(await store.state.holdsRequest('CORP\\zoe', request)).toBe(false);
      expect((await take(store, c))?.shared).toBe(false);
    });

    it('leases: a claimed check-in stays recorded, due when the claim lapses; finish ends the lease and closes its audit row together', async () => {
      const [id, lsid] = [key('owed'), key('owed-lsid').slice(0, 60)];
      const at = (m: number) => new Date(Date.UTC(2032, 0, 1, 10, m, 0)); // before every other test's lease and claim
      const { auditId: _, ...body } = { ...lease(id, key('owner'), new Date(Date.UTC(2099, 10, 22, 11, 0, 0))), lsid };
      const event = { ...requestedEvent(lsid), outcome: 'checked_out' as const, vaultRequestId: body.vaultRequestId };
      const auditId = await store.state.openLease(event, body);
      const claim = { now: at(0), until: at(5), reason: 'release', consoleUser: 'zoë', spend: true };
      const claims = await Promise.all([store.state.claimCheckin(id, claim), store.state.claimCheckin(id, claim)]);
      // One claimant gets the lease (claimed); the other finds it claimed.
      const claimed = { ...body, auditId, checkinRetry: { attempts: 0, at: at(5), reason: 'release' } };
      expect(claims.filter((c) => c !== undefined)).toEqual([{ lease: claimed, shared: false }]);
      expect(await store.state.getLease(id)).toEqual(claimed);
      expect((await store.state.dueLeases(at(4))).map((l) => l.leaseId)).not.toContain(id);
      expect((await store.state.dueLeases(at(5))).map((l) => l.leaseId)).toContain(id);
      // Before the claim lapses nobody else takes it; after it, the sweep of any replica does.
      expect(await store.state.claimCheckin(id, { ...claim, now: at(4), reason: 'recovery' })).toBeUndefined();
      const again = await store.state.claimCheckin(id, { now: at(5), until: at(10), reason: 'release' });
      expect(again?.lease.checkinRetry).toEqual({ attempts: 0, at: at(10), reason: 'release' });
      const checkinAt = at(6);
      expect(
        await store.state.finishCheckin(id, {
          outcome: 'checked_in',
          checkinAt,
          checkinBy: 'replica-b',
          checkinReason: 'release',
        }),
      ).toBe(true);
      expect(await store.state.getLease(id)).toBeUndefined();
      expect(await store.state.listCredentialEvents({ lsid })).toEqual([
        expect.objectContaining({ id: auditId, outcome: 'checked_in', checkinAt, checkinBy: 'replica-b' }),
      ]);
      expect(await store.state.finishCheckin(id, { outcome: 'expired' })).toBe(false);
      expect((await store.state.listCredentialEvents({ lsid }))[0]?.outcome).toBe('checked_in');
    });

    it('leases: a gone lease still finds its audit row by lease id (only a digest of it is stored), an unknown id nothing', async () => {
      const [id, lsid] = [key('ended'), key('ended-lsid').slice(0, 60)];
      const { auditId: _, ...body } = {
        ...lease(id, key('owner'), new Date(Date.UTC(2099, 10, 22, 11, 0, 0))),
        lsid,
        vaultRequestId: key('req'),
      };
      const event = { ...requestedEvent(lsid), outcome: 'checked_out' as const, vaultRequestId: body.vaultRequestId };
      const auditId = await store.state.openLease(event, body);
      expect(await store.state.leaseEvent(id)).toMatchObject({
        id: auditId,
        outcome: 'checked_out',
        checkinReason: null,
      });
      const checkinAt = new Date(Date.UTC(2032, 0, 1, 11, 0, 0));
      await store.state.claimCheckin(id, { ...CLAIM, reason: 'expiry', spend: true });
      await store.state.finishCheckin(id, {
        outcome: 'expired',
        checkinAt,
        checkinBy: 'replica-b',
        checkinReason: 'expiry',
      });
      expect(await store.state.getLease(id)).toBeUndefined();
      expect(await store.state.leaseEvent(id)).toEqual(
        expect.objectContaining({ id: auditId, lsid, outcome: 'expired', checkinAt, checkinReason: 'expiry' }),
      );
      // The row keeps no lease id: nothing the audit reader sees releases the credential.
      expect(JSON.stringify(await store.state.listCredentialEvents({ lsid }))).not.toContain(id);
      expect(await store.state.leaseEvent(key('never-issued'))).toBeUndefined();
    });

    it('leases: a lease being checked in no longer holds its vault request for another', async () => {
      const owner = key('owner');
      const [a, b] = [key('both'), key('both')];
      const request = key('req');
      const expires = new Date(Date.UTC(2099, 10, 22, 11, 0, 0));
      for (const id of [a, b]) await store.state.putLease({ ...lease(id, owner, expires), vaultRequestId: request });
      expect((await store.state.claimCheckin(a, CLAIM))?.shared).toBe(true);
      expect(await store.state.holdsRequest('CORP\\zoe', request)).toBe(true);
      // Both released at once: the second sees the first claimed, so the request is checked in (not left to both).
      expect((await store.state.claimCheckin(b, CLAIM))?.shared).toBe(false);
      expect(await store.state.holdsRequest('CORP\\zoe', request)).toBe(false);
      for (const id of [a, b]) await store.state.finishCheckin(id, {});
    });

    it('leases: one lease per credential id and vault request, whoever confirms; a spent id opens and confirms nothing', async () => {
      const owner = key('owner');
      const lsid = key('once').slice(0, 60);
      const credential = { key: key('cred-key').slice(0, 64), expiresAt: new Date(Date.UTC(2099, 10, 22, 12, 0, 0)) };
      const intent = (id: string): Omit<Lease, 'auditId'> => {
        const { auditId: _, ...body } = { ...lease(id, owner, new Date(Date.UTC(2099, 10, 22, 11, 0, 0))), lsid };
        return { ...body, vaultRequestId: null, credential };
      };
      const event = requestedEvent(lsid);
      const [a, b, c] = [key('once'), key('once'), key('once')];
      // Three gets with one credential id; the vault answered two of them with the same request (reuse).
      for (const id of [a, b, c]) expect(await store.state.openLease(event, intent(id))).toEqual(expect.any(Number));
      const request = key('req');
      const at = new Date(Date.UTC(2099, 10, 22, 10, 1, 0));
      const expires = new Date(Date.UTC(2099, 10, 22, 11, 30, 0));
      const both = await Promise.all([a, b].map((id) => store.state.confirmLease(id, request, expires, at)));
      const kept = both[0]!.outcome === 'confirmed' ? a : b;
      expect(both.map((x) => x.outcome).sort()).toEqual(['confirmed', 'joined']);
      expect(both.find((x) => x.outcome === 'joined')).toEqual({ outcome: 'joined', leaseId: kept });
      expect(await store.state.sessionLeases(lsid, 34)).toEqual([
        expect.objectContaining({ leaseId: kept, vaultRequestId: request, credential, joinedAnswers: 1 }),
        expect.objectContaining({ leaseId: c, vaultRequestId: null }),
      ]);
      // The same credential id in another session keeps a lease of its own on the shared request.
      const [otherLsid, other] = [key('twice').slice(0, 60), key('once')];
      await store.state.openLease({ ...event, lsid: otherLsid }, { ...intent(other), lsid: otherLsid });
      expect(await store.state.confirmLease(other, request, expires, at)).toEqual({ outcome: 'confirmed' });
      expect((await take(store, other))?.shared).toBe(true);
      const rows = await store.state.listCredentialEvents({ lsid });
      expect(rows.filter((r) => r.checkinReason === 'joined')).toEqual([
        expect.objectContaining({ outcome: 'checked_out', vaultRequestId: request, checkinAt: at }),
      ]);
      // The console's release checks the request in (no other lease holds it) and spends the id.
      expect(await take(store, kept, 'zoë', true)).toMatchObject({ shared: false });
      expect(await store.state.openLease(event, intent(key('once')))).toBeUndefined();
      expect(await store.state.listCredentialEvents({ lsid })).toHaveLength(3);
      // A get that was already past its intent is not confirmed either: nothing changes.
      expect(await store.state.confirmLease(c, key('req'), expires, at)).toEqual({ outcome: 'spent' });
      expect(await store.state.getLease(c)).toMatchObject({ vaultRequestId: null });
      expect(await take(store, c)).toBeDefined();
      // Spent ids are kept until the credential id itself expires, then forgotten by the sweep.
      await store.state.reclaim(credential.expiresAt);
      expect(await store.state.openLease(event, intent(key('once')))).toBeUndefined();
      expect(await store.state.reclaim(new Date(credential.expiresAt.getTime() + 1))).toBeGreaterThanOrEqual(1);
      const fresh = key('once');
      expect(await store.state.openLease(event, intent(fresh))).toEqual(expect.any(Number));
      await take(store, fresh);
    });

    it('leases: a take without spend, or of an intent, leaves the credential id usable', async () => {
      const owner = key('owner');
      const credential = { key: key('cred-key').slice(0, 64), expiresAt: new Date(Date.UTC(2099, 10, 22, 12, 0, 0)) };
      const held = { ...lease(key('keep'), owner, new Date(Date.UTC(2099, 10, 22, 11, 0, 0))), credential };
      await store.state.putLease(held);
      expect(await store.state.getLease(held.leaseId)).toEqual(held);
      await take(store, held.leaseId, undefined, false);
      const asIntent = { ...held, leaseId: key('keep'), vaultRequestId: null };
      await store.state.putLease(asIntent);
      await take(store, asIntent.leaseId, undefined, true);
      const { auditId: _, ...again } = { ...held, leaseId: key('keep') };
      const opened = await store.state.openLease(
        {
          site: 'corp-pra',
          lsid: null,
          jumpItemId: null,
          jumpItemName: null,
          consoleUser: 'zoë',
          vaultUser: 'CORP\\zoe',
          vaultRequestId: null,
          systemName: null,
          accountName: null,
          outcome: 'requested',
          errorCode: null,
          checkoutAt: null,
          checkinAt: null,
        },
        again,
      );
      expect(opened).toEqual(expect.any(Number));
      await take(store, again.leaseId);
    });

    it('concurrent writes all commit, each answered with its own result; a failing one fails only its caller', async () => {
      // PGlite writes the statements of concurrent callers as one transaction (group commit): a
      // statement failing in it must not take the others with it.
      const owner = key('owner');
      const lsid = key('group').slice(0, 60);
      const ids = Array.from({ length: 6 }, () => key('group'));
      const { auditId: _, ...body } = { ...lease(ids[0]!, owner, new Date(Date.UTC(2099, 10, 22, 11, 0, 0))), lsid };
      const taken = key('group');
      for (const id of [ids[5]!, taken])
        await store.state.putLease(lease(id, owner, new Date(Date.UTC(2099, 10, 22, 11, 0, 0))));
      const event = { ...requestedEvent(lsid), systemName: null, accountName: null };
      const results = await Promise.allSettled([
        ...ids.slice(0, 5).map((leaseId) => store.state.openLease(event, { ...body, leaseId })),
        store.state.openLease(event, { ...body, leaseId: ids[5]! }), // already recorded: fails
        take(store, taken),
      ]);
      expect(results.map((r) => r.status)).toEqual([...Array(5).fill('fulfilled'), 'rejected', 'fulfilled']);
      const audits = results.slice(0, 5).map((r) => (r as PromiseFulfilledResult<number>).value);
      expect(new Set(audits).size).toBe(5);
      expect(isServiceError((results[5] as PromiseRejectedResult).reason)).toBe(true);
      expect((results[6] as PromiseFulfilledResult<unknown>).value).toMatchObject({ lease: { leaseId: taken } });
      // Every lease points at its own audit row (concurrent callers on SQL Server commit in any order).
      const leases = await store.state.sessionLeases(lsid, 34);
      const byLease = new Map(leases.map((l) => [l.leaseId, l.auditId]));
      expect(ids.slice(0, 5).map((id) => byLease.get(id))).toEqual(audits);
      const rows = await store.state.listCredentialEvents({ lsid });
      expect(rows.map((e) => e.id).sort()).toEqual([...audits].sort());
      await Promise.all(ids.map((id) => take(store, id)));
    });

    it('leases: the leases of one session on one account', async () => {
      const owner = key('owner');
      const lsid = key('sess').slice(0, 60);
      const expires = new Date(Date.UTC(2099, 10, 22, 11, 0, 0));
      const [x, y, other] = [key('s'), key('s'), key('s')];
      await store.state.putLease({ ...lease(x, owner, expires), lsid });
      await store.state.putLease({ ...lease(y, owner, expires), lsid, accountId: 99 });
      await store.state.putLease(lease(other, owner, expires));
      expect((await store.state.sessionLeases(lsid, 34)).map((l) => l.leaseId)).toEqual([x]);
      expect((await store.state.sessionLeases(lsid, 99)).map((l) => l.leaseId)).toEqual([y]);
      expect(await store.state.sessionLeases(key('none').slice(0, 60), 34)).toEqual([]);
    });

    it('leases: a failed check-in is kept with its retry; due are the expired leases and the retries due', async () => {
      const owner = key('owner');
      const at = (h: number) => new Date(Date.UTC(2031, 0, 1, h, 0, 0)); // before every other test's lease: a due-lease query sees only this test's
      const [expired, retry, later, live] = [key('due'), key('due'), key('due'), key('due')];
      const failed = { ...lease(retry, owner, at(20)), checkinRetry: { attempts: 2, at: at(11), reason: 'release' } };
      await store.state.putLease(lease(expired, owner, at(9)));
      await store.state.putLease(failed);
      await store.state.putLease({
        ...lease(later, owner, at(20)),
        checkinRetry: { ...failed.checkinRetry, at: at(13) },
      });
      await store.state.putLease(lease(live, owner, at(20)));
      expect(await store.state.getLease(retry)).toEqual(failed);
      const due = (await store.state.dueLeases(at(12))).filter((l) => l.owner === owner);
      expect(due.map((l) => l.leaseId)).toEqual([expired, retry]);
      expect(due[1]).toEqual(failed);
      for (const id of [expired, retry, later, live]) await take(store, id);
    });

    it('instances: a replica not touched since the cut-off is stale', async () => {
      const [live, dead] = [key('live'), key('dead')];
      expect(await store.state.touchInstance(dead, new Date(Date.UTC(2020, 0, 1)))).toBe(false);
      await store.state.touchInstance(live, new Date(Date.UTC(2020, 0, 1)));
      expect(await store.state.touchInstance(live, new Date(Date.UTC(2020, 0, 3)))).toBe(true);
      const stale = await store.state.staleInstances(new Date(Date.UTC(2020, 0, 2)));
      expect(stale).toContain(dead);
      expect(stale).not.toContain(live);
    });

    it('instances: retiring fences a stale instance (its row goes, its next touch finds it gone), never a live one', async () => {
      const [live, dead, rowless] = [key('live'), key('dead'), key('rowless')];
      const day = (d: number) => new Date(Date.UTC(2020, 0, d));
      await store.state.touchInstance(dead, day(1));
      await store.state.touchInstance(live, day(3));
      expect(await store.state.retireInstance(live, day(2))).toBe(false);
      expect(await store.state.retireInstance(dead, day(2))).toBe(true);
      expect(await store.state.staleInstances(day(2))).not.toContain(dead);
      // Leases of an owner without a row (retired by a replica that died before recovering them)
      // count as stale once created before the cut-off.
      await store.state.putLease({ ...lease(key('orphan'), rowless, day(30)), createdAt: day(1) });
      expect(await store.state.staleInstances(day(2))).toContain(rowless);
      expect(await store.state.retireInstance(rowless, day(2))).toBe(true);
      for (const l of await store.state.listLeases({ owner: rowless })) await store.state.finishCheckin(l.leaseId, {});
      // The fenced instance comes back: its touch says its row was gone.
      expect(await store.state.touchInstance(dead, day(4))).toBe(false);
      expect(await store.state.touchInstance(dead, day(5))).toBe(true);
    });

    it('fencing: an instance writes leases under its epoch; once fenced its confirm, put, claim, finish and open are refused and change nothing', async () => {
      const me = key('fenced');
      const day = (d: number) => new Date(Date.UTC(2020, 0, d));
      const fence = { instanceId: me, epoch: 7 };
      expect(await store.state.touchInstance(me, day(1), 7)).toBe(false);
      expect(await store.state.renewInstance(fence, day(2))).toBe(true);
      const [intentId, leaseId, lsid] = [key('f-intent'), key('f-lease'), key('f-lsid').slice(0, 60)];
      const expires = new Date(Date.UTC(2099, 10, 22, 11, 0, 0));
      const { auditId: _, ...intent } = { ...lease(intentId, me, expires), lsid, vaultRequestId: null };
      const auditId = await store.state.openLease(requestedEvent(lsid), intent, fence);
      expect(auditId).toBeGreaterThan(0);
      const held = lease(leaseId, me, expires);
      await store.state.putLease(held, fence);

      // Another replica presumed it dead: the row goes before its leases are taken.
      expect(await store.state.retireInstance(me, day(3))).toBe(true);
      const at = new Date(Date.UTC(2099, 10, 22, 10, 1, 0));
      const refusal = (p: Promise<unknown>) =>
        p.then(
          () => 'not refused',
          (e: unknown) => e,
        );
      const fenced = { code: 'store.fenced', retryable: true };
      expect(await refusal(store.state.confirmLease(intentId, 'req-f', expires, at, fence))).toMatchObject(fenced);
      expect(await refusal(store.state.putLease({ ...held, expiresAt: at }, fence))).toMatchObject(fenced);
      expect(await refusal(store.state.claimCheckin(leaseId, { ...CLAIM, fence }))).toMatchObject(fenced);
      expect(await refusal(store.state.finishCheckin(leaseId, {}, fence))).toMatchObject(fenced);
      const other = { ...intent, leaseId: key('f-open') };
      expect(await refusal(store.state.openLease(requestedEvent(lsid), other, fence))).toMatchObject(fenced);
      expect(await store.state.getLease(intentId)).toEqual({ ...intent, auditId });
      expect(await store.state.getLease(leaseId)).toEqual(held);
      expect(await store.state.getLease(other.leaseId)).toBeUndefined();
      expect(await store.state.listCredentialEvents({ lsid })).toMatchObject([
        { id: auditId, outcome: 'requested', vaultRequestId: null },
      ]);
      // The recovering replica ends the lease: the fenced one's put does not re-create it.
      await take(store, leaseId);
      expect(await refusal(store.state.putLease(held, fence))).toMatchObject(fenced);
      expect(await store.state.getLease(leaseId)).toBeUndefined();

      // It comes back: its renewal fails, it rejoins under a new epoch; the old epoch stays fenced.
      expect(await store.state.renewInstance(fence, day(4))).toBe(false);
      expect(await store.state.touchInstance(me, day(4), 8)).toBe(false);
      expect(await store.state.renewInstance(fence, day(5))).toBe(false);
      expect(await refusal(store.state.confirmLease(intentId, 'req-f', expires, at, fence))).toMatchObject(fenced);
      const rejoined = { instanceId: me, epoch: 8 };
      expect(await store.state.renewInstance(rejoined, day(5))).toBe(true);
      expect(await store.state.confirmLease(intentId, 'req-f', expires, at, rejoined)).toEqual({
        outcome: 'confirmed',
      });
      expect(await store.state.getLease(intentId)).toMatchObject({ vaultRequestId: 'req-f' });
      await take(store, intentId);
      expect(await store.state.retireInstance(me, day(6))).toBe(true);
    });

    it('instances: a graceful stop hands every lease over to the instance heard from last, if any is alive', async () => {
      const [leaving, older, newer, id1, id2] = [key('leaving'), key('older'), key('newer'), key('ho'), key('ho')];
      const day = (d: number) => new Date(Date.UTC(2098, 0, d)); // after every other test's heartbeat
      await store.state.touchInstance(older, day(2));
      await store.state.touchInstance(newer, day(3));
      for (const id of [id1, id2]) await store.state.putLease(lease(id, leaving, new Date(Date.UTC(2099, 0, 1))));
      // Nobody heard from since day 4: nothing moves.
      expect(await store.state.handOverLeases(leaving, day(4))).toBeUndefined();
      expect((await store.state.listLeases({ owner: leaving })).length).toBe(2);
      expect(await store.state.handOverLeases(leaving, day(2))).toEqual({ heir: newer, leases: 2 });
      expect((await store.state.listLeases({ owner: newer })).map((l) => l.leaseId).sort()).toEqual([id1, id2].sort());
      for (const id of [id1, id2]) await store.state.finishCheckin(id, {});
    });

    it('audit: records credential events, patches them (who checked in and why), lists by lsid with a limit', async () => {
      const lsid = key('audit').slice(0, 60);
      const base = {
        site: 'corp-pra',
        lsid,
        jumpItemId: 5,
        jumpItemName: 'srv-01 (RDP)',
        consoleUser: 'zoë',
        vaultUser: 'CORP\\zoe',
        vaultRequestId: null,
        systemName: 'srv-01',
        accountName: 'Administrator',
        outcome: 'checked_out' as const,
        errorCode: null,
        checkoutAt: new Date(Date.UTC(2099, 10, 22, 10, 0, 0)),
        checkinAt: null,
      };
      const id1 = await store.state.recordCredentialEvent(base);
      const id2 = await store.state.recordCredentialEvent({
        ...base,
        outcome: 'denied',
        errorCode: 'policy.denied',
        checkoutAt: null,
      });
      expect(id2).toBeGreaterThan(id1);
      await store.state.updateCredentialEvent(id1, {
        outcome: 'checked_in',
        checkinAt: new Date(Date.UTC(2099, 10, 22, 11, 0, 0)),
        vaultRequestId: '771',
        checkinBy: 'replica-b',
        checkinReason: 'recovery',
      });
      const rows = await store.state.listCredentialEvents({ lsid });
      expect(rows).toEqual([
        {
          ...base,
          id: id1,
          outcome: 'checked_in',
          checkinAt: new Date(Date.UTC(2099, 10, 22, 11, 0, 0)),
          vaultRequestId: '771',
          checkinBy: 'replica-b',
          checkinReason: 'recovery',
        },
        {
          ...base,
          id: id2,
          outcome: 'denied',
          errorCode: 'policy.denied',
          checkoutAt: null,
          checkinBy: null,
          checkinReason: null,
        },
      ]);
      expect((await store.state.listCredentialEvents({ lsid, limit: 1 })).map((r) => r.id)).toEqual([id2]);
    });

    it('audit: the row moves only as the transition table allows; an illegal transition is refused and changes nothing', async () => {
      // Every (from, to) pair: a row recorded in `from`, then patched to `to` with an error code.
      const lsid = key('transitions').slice(0, 60);
      const pairs = CREDENTIAL_OUTCOMES.flatMap((from) => CREDENTIAL_OUTCOMES.map((to) => ({ from, to })));
      const ids: number[] = [];
      for (const { from } of pairs)
        ids.push(await store.state.recordCredentialEvent({ ...requestedEvent(lsid), outcome: from }));
      const took: boolean[] = [];
      for (const [i, { to }] of pairs.entries())
        took.push(await store.state.updateCredentialEvent(ids[i]!, { outcome: to, errorCode: `moved.${to}` }));
      expect(took).toEqual(pairs.map(({ from, to }) => mayMove(from, to)));
      const rows = new Map((await store.state.listCredentialEvents({ lsid })).map((r) => [r.id, r]));
      expect(pairs.map((_, i) => [rows.get(ids[i]!)?.outcome, rows.get(ids[i]!)?.errorCode])).toEqual(
        pairs.map(({ from, to }) => (mayMove(from, to) ? [to, `moved.${to}`] : [from, null])),
      );
      // What the table says a checkout's row may never do.
      for (const [from, to] of [
        ['checked_in', 'checked_out'],
        ['expired', 'checked_in'],
        ['checked_out', 'requested'],
        ['failed', 'checked_out'],
      ] as const)
        expect(mayMove(from, to), `${from} -> ${to}`).toBe(false);
    });

    it('audit: confirm and finish keep to the table too: a row already final is not moved by a late confirm or check-in', async () => {
      const [id, lsid] = [key('late'), key('late-lsid').slice(0, 60)];
      const { auditId: _, ...body } = {
        ...lease(id, key('owner'), new Date(Date.UTC(2099, 10, 22, 11, 0, 0))),
        lsid,
        vaultRequestId: null,
      };
      const auditId = (await store.state.openLease(requestedEvent(lsid), body))!;
      // The row failed meanwhile (e.g. the answer could not be delivered): a confirm does not revive it.
      expect(await store.state.updateCredentialEvent(auditId, { outcome: 'failed', errorCode: 'channel.closed' })).toBe(
        true,
      );
      const at = new Date(Date.UTC(2099, 10, 22, 10, 1, 0));
      await store.state.confirmLease(id, 'req-late', new Date(Date.UTC(2099, 10, 22, 11, 30, 0)), at);
      // Nor does a check-in: the lease goes, the row keeps its final state.
      expect(await store.state.claimCheckin(id, CLAIM)).toBeDefined();
      expect(await store.state.finishCheckin(id, { outcome: 'checked_in', checkinReason: 'release' })).toBe(true);
      expect(await store.state.getLease(id)).toBeUndefined();
      expect(await store.state.listCredentialEvents({ lsid })).toMatchObject([
        { id: auditId, outcome: 'failed', errorCode: 'channel.closed', checkoutAt: null, checkinReason: null },
      ]);
    });

    it('missing recordings: owed per site and file, replaced keeping the first failure, listed due first, forgotten', async () => {
      const site = key('owed');
      const other = key('owed-other');
      const at = (h: number) => new Date(Date.UTC(2100, 0, 1, h));
      const owed = (recording: string, o: Partial<MissingRecording> = {}): MissingRecording => ({
        site,
        recording,
        lsid: recording.split('.')[0]!,
        instance: null,
        url: null,
        node: null,
        attempts: 1,
        lastCode: 'appliance.unavailable',
        lastError: 'tn1.example:443 unreachable',
        firstFailedAt: at(1),
        lastTriedAt: at(1),
        nextTryAt: at(2),
        ...o,
      });
      const url = `https://tn1.example/session_download/recording?lsid=a&k=${'x'.repeat(5000)}`;
      const a = owed('a', { url, node: 'tn1.example', nextTryAt: at(5) });
      const shell = owed('b.shell-3', { lsid: 'b', instance: 3, nextTryAt: at(3) });
      const c = owed('c', { nextTryAt: at(9) });
      await store.reports.noteMissingRecordings([a, shell, c, owed('x', { site: other })]);
      // Tried again and failed again: attempts and times replaced, the first failure kept.
      const again = {
        ...a,
        attempts: 2,
        lastError: 'y'.repeat(300),
        firstFailedAt: at(4),
        lastTriedAt: at(4),
        nextTryAt: at(6),
      };
      await store.reports.noteMissingRecordings([again]);

      expect(await store.reports.missingRecordings({ site, limit: 10 })).toEqual({
        total: 3,
        entries: [shell, { ...again, firstFailedAt: at(1) }, c],
      });
      const due = await store.reports.missingRecordings({ site, dueBy: at(6), limit: 10 });
      expect(due.total).toBe(3);
      expect(due.entries.map((e) => e.recording)).toEqual(['b.shell-3', 'a']);
      expect((await store.reports.missingRecordings({ site, dueBy: at(6), limit: 1 })).entries).toEqual([shell]);
      expect((await store.reports.missingRecordings({ limit: 100_000 })).total).toBeGreaterThanOrEqual(4);

      await store.reports.forgetMissingRecordings(site, ['a', 'b.shell-3', 'never-owed']);
      expect((await store.reports.missingRecordings({ site, limit: 10 })).entries.map((e) => e.recording)).toEqual([
        'c',
      ]);
      expect((await store.reports.missingRecordings({ site: other, limit: 10 })).total).toBe(1);
      await store.reports.forgetMissingRecordings(site, []);
    });

    it('quarantine: a refused session is kept once per site and raw lsid, bounded; seen again it is not new', async () => {
      const site = key('quarantine');
      // 300 units of astral characters and a NUL: cut at 100 UTF-16 units, never half a pair, the NUL shown as U+FFFD.
      const long = quarantineEntry(site, 'end_time w1', {
        lsid: '\u0000' + '😀'.repeat(150),
        reason: 'lsid_invalid',
        detail: 'lsid attribute is not a session id',
      });
      const noLsid = quarantineEntry(site, 'end_time w1', {
        lsid: undefined,
        reason: 'lsid_missing',
        detail: 'x'.repeat(1000),
      });
      const t1 = new Date(Date.UTC(2100, 0, 1, 10));
      const t2 = new Date(Date.UTC(2100, 0, 1, 11));
      expect(await store.reports.quarantine([long, noLsid], t1)).toEqual([long, noLsid]);
      const again = { ...long, reason: 'content_invalid' as const, window: 'end_time w2' };
      expect(await store.reports.quarantine([again], t2)).toEqual([]);
      const { total, entries } = await store.reports.quarantined(10_000);
      expect(total).toBeGreaterThanOrEqual(2);
      const mine = entries.filter((e) => e.site === site);
      expect(mine).toEqual([
        { ...again, firstSeenAt: t1, lastSeenAt: t2 },
        { ...noLsid, firstSeenAt: t1, lastSeenAt: t1 },
      ]);
      expect(mine[0]!.lsid).toBe('\uFFFD' + '😀'.repeat(49) + '...');
      expect(mine[1]!.lsid).toBe('');
      expect(mine[1]!.detail).toHaveLength(300);
      expect((await store.reports.quarantined(1)).entries).toHaveLength(1);
    });

    it('leader lock: one holder at a time, free again after release', async () => {
      const name = key('job');
      const first = await store.lock.tryAcquire(name);
      expect(first).toBeDefined();
      expect(await store.lock.tryAcquire(name)).toBeUndefined();
      await first!.release();
      const again = await store.lock.tryAcquire(name);
      expect(again).toBeDefined();
      await again!.release();
    });

    // Times are the callers' (an injected clock): nothing here waits for a lease to lapse.
    const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    const at = (seconds: number) => new Date(T0 + seconds * 1000);

    it('leadership: a live lease refuses a second holder; one not renewed for its lease passes to the next, with a new epoch', async () => {
      const name = key('lead');
      const a = await store.leadership.take(name, 'replica-a', at(0), at(30));
      expect(a).toEqual({ name, holder: 'replica-a', epoch: expect.any(Number) as number });
      expect(await store.leadership.take(name, 'replica-b', at(29), at(59))).toBeUndefined();
      expect(await store.leadership.renew(a!, at(40))).toBe(true); // a renewal moves the lapse on
      expect(await store.leadership.take(name, 'replica-b', at(39), at(69))).toBeUndefined();
      // replica-a stops renewing (hung): after its lease, replica-b takes over.
      const b = await store.leadership.take(name, 'replica-b', at(41), at(71));
      expect(b).toBeDefined();
      expect(b!.epoch).toBeGreaterThan(a!.epoch);
      // replica-a wakes: its term is over, a renewal and a release change nothing.
      expect(await store.leadership.renew(a!, at(100))).toBe(false);
      await store.leadership.release(a!);
      expect(await store.leadership.take(name, 'replica-c', at(60), at(90))).toBeUndefined();
      // A release ends the term at once: the next holder needs no wait.
      await store.leadership.release(b!);
      const c = await store.leadership.take(name, 'replica-c', at(61), at(91));
      expect(c!.epoch).toBeGreaterThan(b!.epoch);
      await store.leadership.release(c!);
    });

    it('leadership: two takes of a new leadership at once, exactly one wins', async () => {
      const name = key('lead-race');
      const terms = await Promise.all(
        ['replica-a', 'replica-b', 'replica-c'].map((h) => store.leadership.take(name, h, at(0), at(30))),
      );
      expect(terms.filter((t) => t !== undefined)).toHaveLength(1);
    });

    it('leadership: the commit of a stale leader is refused and writes nothing; the current leader commits and renews', async () => {
      const name = key('lead-fence');
      const stale = (await store.leadership.take(name, 'replica-a', at(0), at(30)))!;
      const current = (await store.leadership.take(name, 'replica-b', at(31), at(61)))!;
      const s = makeSession(key('fenced'));
      const cursor = { key: key('fence-cursor'), value: '2026-01-01T12:00:00.000Z' };
      const refused = await store.reports.writeSessions([s], cursor, { ...stale, until: at(100) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toMatchObject({ code: 'report.leader_lost' });
      expect(await store.reports.readSession(s.hostName, s.lsid)).toBeUndefined();
      expect(await store.state.getCursor(cursor.key)).toBeUndefined();
      // The current leader's commit goes through and renews its lease to the commit's expiry.
      expect(await store.reports.writeSessions([s], cursor, { ...current, until: at(120) })).toEqual({
        inserted: 1,
        updated: 0,
      });
      expect(await store.reports.readSession(s.hostName, s.lsid)).toEqual(s);
      expect(await store.state.getCursor(cursor.key)).toBe(cursor.value);
      expect(await store.leadership.take(name, 'replica-c', at(119), at(149))).toBeUndefined();
      await store.leadership.release(current);
    });

    it('failback state: one row per site, replaced whole by each put, times to the millisecond', async () => {
      const site = key('failback');
      const other = key('failback-other');
      expect(await store.failback.get(site)).toBeUndefined();
      const owed = { primary: 'https://10.0.0.2:443', reread: { fromMs: T0 - 3_600_000 + 7, syncAfterMs: T0 + 1234 } };
      await store.failback.put(site, owed);
      await store.failback.put(other, { primary: 'appliance 7f3c' });
      expect(await store.failback.get(site)).toEqual(owed);
      await store.failback.put(site, { primary: null }); // the site URL reached a backup; the re-read was done
      expect(await store.failback.get(site)).toEqual({ primary: null });
      expect(await store.failback.get(other)).toEqual({ primary: 'appliance 7f3c' });
      const tooLong = await store.failback.put(site, { primary: 'x'.repeat(301) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(tooLong).toMatchObject({ code: 'store.write_failed' });
      expect(await store.failback.get(site)).toEqual({ primary: null });
    });

    it('failback state: the put of a stale leader is refused and writes nothing; the current leader renews its lease', async () => {
      const name = key('lead-failback');
      const site = key('failback-fenced');
      const stale = (await store.leadership.take(name, 'replica-a', at(0), at(30)))!;
      const current = (await store.leadership.take(name, 'replica-b', at(31), at(61)))!;
      const owed = { primary: 'appliance b', reread: { fromMs: T0, syncAfterMs: T0 + 60_000 } };
      await store.failback.put(site, owed, { ...current, until: at(62) });
      const refused = await store.failback.put(site, { primary: 'appliance a' }, { ...stale, until: at(100) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toMatchObject({ code: 'report.leader_lost' });
      expect(await store.failback.get(site)).toEqual(owed);
      await store.failback.put(site, { primary: 'appliance b' }, { ...current, until: at(120) });
      expect(await store.failback.get(site)).toEqual({ primary: 'appliance b' });
      expect(await store.leadership.take(name, 'replica-c', at(119), at(149))).toBeUndefined();
      await store.leadership.release(current);
    });
  });
}
