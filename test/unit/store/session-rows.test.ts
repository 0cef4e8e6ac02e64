import { describe, expect, it } from 'vitest';
import { isServiceError } from '../../../src/platform/errors.js';
import { CUSTOM_ATTRIBUTE, SESSION, SESSION_EVENT_FILE } from '../../../src/store/bgsessions-tables.js';
import { planBatch, sessionFromRows } from '../../../src/store/session-rows.js';
import { makeEvent, makeSession } from '../../integration/store/session-fixture.js';

function failure(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(isServiceError(e, 'store.write_failed')).toBe(true);
    return e as Error;
  }
  throw new Error('expected store.write_failed');
}

describe('session rows', () => {
  it('maps the session one column per XML field, in table column order', () => {
    const [plan] = planBatch([makeSession('abc')]);
    const row = Object.fromEntries(SESSION.columns.map((c, i) => [c.name, plan!.session[i]]));
    expect(row).toMatchObject({
      lsid: 'abc',
      type: 'support',
      file_transfers: 2,
      file_moves: 1,
      file_deletes: 0,
      host_name: 'access.example.com',
      public_site_id: 1,
      public_site_name: 'Default',
      jump_group_id: 7,
      jump_group_type: 'shared',
      jump_group_name: 'Servers – Zürich',
      primary_rep_name: 'Zoë Ødegård',
      session_chat_download_url: null,
    });
    expect(plan!.children.get(CUSTOM_ATTRIBUTE)).toEqual([
      [0, 'ticket', 'Ticket', 'INC-1'],
      [1, 'note', 'Note', '日本語のメモ'],
    ]);
  });

  it('puts the first file on the event row and later ones in session_event_file', () => {
    const [plan] = planBatch([makeSession('files', {}, 3)]);
    const second = plan!.events[2]!;
    expect(second.row.slice(-2)).toEqual(['a.txt', 10]);
    expect(second.children.get(SESSION_EVENT_FILE)).toEqual([[1, 'ß.bin', null]]);
  });

  it('keeps the last occurrence of a session listed twice in a batch', () => {
    const plans = planBatch([
      makeSession('x', { externalKey: 'first' }),
      makeSession('y'),
      makeSession('x', { externalKey: 'second' }),
    ]);
    expect(plans.map((p) => p.lsid)).toEqual(['x', 'y']);
    expect(plans[0]!.session[SESSION.columns.findIndex((c) => c.name === 'external_key')]).toBe('second');
  });

  it('refuses, naming session and column, values that would be truncated or overflow', () => {
    expect(failure(() => planBatch([makeSession('x'.repeat(65))])).message).toContain(
      'session.lsid is 65 characters, longer than its 64',
    );
    const longIp = makeSession('ip');
    longIp.customers[0]!.publicIp = '1'.repeat(65);
    expect(failure(() => planBatch([longIp])).message).toBe(
      'session access.example.com/ip: customer.public_ip is 65 characters, longer than its 64; nothing of this batch was written',
    );
    expect(failure(() => planBatch([makeSession('big', { fileTransferCount: 2 ** 31 })])).message).toContain(
      'session.file_transfers is 2147483648',
    );
    const badSeq = makeSession('seq', { events: [makeEvent(0, new Date()), makeEvent(0, new Date())] });
    expect(failure(() => planBatch([badSeq])).message).toContain('event seq 0 appears twice');
  });

  it('never limits bodies and values (nvarchar(max))', () => {
    const s = makeSession('long', { externalKey: 'k'.repeat(200_000) });
    s.events[0]!.body = 'b'.repeat(500_000);
    expect(() => planBatch([s])).not.toThrow();
  });

  it('rebuilds absent parties, groups and files as null/empty from NULL columns', () => {
    const s = makeSession('nulls', { jumpGroup: null, jumpoint: null, primaryCustomer: null, primaryRep: null });
    const [plan] = planBatch([s]);
    const session = Object.fromEntries(SESSION.columns.map((c, i) => [c.name, plan!.session[i]]));
    const back = sessionFromRows({ session, events: [], children: {} });
    expect(back).toMatchObject({
      jumpGroup: null,
      jumpoint: null,
      primaryCustomer: null,
      primaryRep: null,
      events: [],
      teams: [],
    });
  });
});
