import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseReport, parseSessionList, parseSessionListing } from '../../../src/reporting/report-xml-parser.js';
import { boundedLsid, type RejectedSession } from '../../../src/reporting/rejected-session.js';
import { splitAddress } from '../../../src/reporting/session-element.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';
import { isServiceError, type ServiceError } from '../../../src/platform/errors.js';

const ctx = {
  site: 'corp-pra',
  hostName: 'access.example.com',
  report: 'AccessSession',
  window: 'end_time 2026-01-01T00:00:00Z..2026-01-01T06:00:00Z',
};
const sample = readFileSync('test/fixtures/reporting/access-session-real.xml', 'utf8');

function thrown(f: () => unknown): ServiceError {
  try {
    f();
  } catch (e) {
    if (isServiceError(e)) return e;
    throw e;
  }
  throw new Error('expected a ServiceError');
}

describe('report XML parser', () => {
  it('reads a real-style AccessSession report: one-element lists, quirks, both timestamp forms', () => {
    const [s, open] = parseSessionList(sample, ctx);
    expect(s).toMatchObject({
      hostName: 'access.example.com',
      lsid: 'c0b7a4e6d2f34b9a8e1f0a2b3c4d5e6f',
      type: 'support',
      lseq: 96,
      startTime: new Date('2026-01-01T10:00:00Z'),
      endTime: new Date('2026-01-01T10:15:30Z'),
      duration: '00:15:30',
      externalKey: 'INC-4711',
      publicSiteId: 1,
      publicSiteName: 'Default',
      jumpGroup: { id: 3, type: 'shared', name: 'Servers' },
      jumpoint: { id: 2, name: 'DC Jumpoint' },
      primaryCustomer: { gsnumber: 1, name: 'web01' },
      primaryRep: { gsnumber: 2, id: 7, name: 'Zoë Müller' },
      chatViewUrl: 'https://access.example.com/session_download/chat?lsid=c0b7&view=1',
      customAttributes: [{ codeName: 'ticket', displayName: 'Ticket', value: 'INC-4711 & more' }],
      shellRecordings: [
        { instance: 1, downloadUrl: 'https://traffic-1.example.com/shell?lsid=c0b7&instance=1', viewUrl: null },
      ],
      customers: [
        {
          gsnumber: 1,
          username: 'Administrator',
          publicIp: '4.231.237.19',
          publicPort: 61606,
          privateIp: null,
          hostname: 'web01',
          os: null,
        },
      ],
    });
    expect(s!.representatives[0]).toMatchObject({
      publicIp: '2a01:db8::5',
      publicPort: 56722,
      sessionOwner: true,
      invited: false,
      secondsInvolved: 930,
    });
    expect(s!.events.map((e) => [e.seq, e.type, e.time.toISOString()])).toEqual([
      [0, 'Session Start', '2026-01-01T10:00:00.000Z'],
      [1, 'Chat Message', '2026-01-01T10:05:00.000Z'],
      [2, 'File Download', '2026-01-01T10:05:00.000Z'],
      [3, 'System Information Retrieved', '2026-01-01T10:06:00.000Z'],
    ]);
    expect(s!.events[0]!.performedBy).toEqual({ type: 'system', gsnumber: null, name: 'System' });
    expect(s!.events[1]!.body).toBe('bell\u0007 & 😀');
    expect(s!.events[2]!.files).toEqual([{ filename: 'rapport été.pdf', filesize: 4096 }]);
    expect(s!.events[2]!.data).toEqual([{ name: 'path', value: 'C:\\Temp' }]);
    expect(s!.events[3]!.systemInformation).toEqual([
      { category: 'Overview', field: 'Uptime', value: '4 days', row: null },
      { category: 'Processes', field: 'Name', value: 'sshd', row: 0 },
      { category: 'Processes', field: 'PID', value: '12', row: 0 },
    ]);
    expect(open).toMatchObject({
      endTime: null,
      duration: null,
      events: [],
      customers: [],
      representatives: [],
      jumpGroup: null,
      externalKey: null,
    });
  });

  it('is namespace-agnostic: the docs namespace and prefixed elements read the same', () => {
    const docs = sample.replace(
      'http://www.beyondtrust.com/sra/namespaces/API/reporting',
      'https://www.beyondtrust.com/namespaces/API/reporting',
    );
    const prefixed = sample.replace('xmlns=', 'xmlns:r=').replace(/<(\/?)([a-z_]+)([\s>/])/g, '<$1r:$2$3');
    expect(prefixed).toContain('<r:session lsid=');
    expect(parseSessionList(docs, ctx)).toEqual(parseSessionList(sample, ctx));
    expect(parseSessionList(prefixed, ctx)).toEqual(parseSessionList(sample, ctx));
  });

  it('an <error> root or an <error> inside session_list is appliance.api_error naming report and window', () => {
    for (const xml of [
      '<error>Invalid time range</error>',
      '<session_list xmlns="x"><error>Invalid time range</error></session_list>',
    ]) {
      const e = thrown(() => parseReport(xml, ctx));
      expect(e.code).toBe('appliance.api_error');
      expect(e.message).toBe(
        `AccessSession report from site corp-pra (${ctx.window}) answered an error: Invalid time range`,
      );
    }
  });

  it('broken XML is report.xml_invalid with site, window and position', () => {
    const e = thrown(() => parseReport(sample.slice(0, 2000), ctx));
    expect(e.code).toBe('report.xml_invalid');
    expect(e.message).toMatch(
      /^AccessSession report from site corp-pra \(end_time .*\) is invalid: .* at line \d+, column \d+$/,
    );
    expect(e.details).toMatchObject({ site: 'corp-pra', window: ctx.window });
  });

  it('a session without lsid or start time fails the whole report, naming the session', () => {
    expect(
      thrown(() => parseReport('<session_list><session><start_time timestamp="1"/></session></session_list>', ctx))
        .message,
    ).toMatch(/session \(no lsid\): lsid attribute is missing/);
    const e = thrown(() =>
      parseReport('<session_list><session lsid="abc"><start_time>yesterday</start_time></session></session_list>', ctx),
    );
    expect(e.code).toBe('report.xml_invalid');
    expect(e.details).toMatchObject({ lsid: 'abc', field: 'start_time' });
  });

  it('an lsid that is not a plain session id (path characters, too long) fails the report, named by position not echoed whole', () => {
    const hostile = '../../../../etc/cron.d/' + 'x'.repeat(500);
    for (const lsid of ['../../etc/passwd', 'a/b', 'a.b', 'a b', '', 'x'.repeat(65), hostile]) {
      const xml = `<session_list><session lsid="ok-1"><start_time timestamp="1"/></session><session lsid="${lsid}"><start_time timestamp="1"/></session></session_list>`;
      const e = thrown(() => parseReport(xml, ctx));
      expect(e.code).toBe('report.xml_invalid');
      expect(e.details).toMatchObject({ session: 1, field: 'lsid' });
      expect(e.message).toMatch(
        lsid === ''
          ? /lsid attribute is missing \(session #1\)/
          : /lsid attribute is not a session id .*\(session #1\)$/,
      );
      expect(e.message.length).toBeLessThan(300);
      expect(JSON.stringify(e.details)).not.toContain('x'.repeat(20));
    }
    const listing = `<session_summary_list><session_summary lsid="ok" has_recording="1"/><session_summary lsid="${hostile}" has_recording="1"/></session_summary_list>`;
    const l = thrown(() => parseReport(listing, ctx));
    expect(l.code).toBe('report.xml_invalid');
    expect(l.message).toMatch(
      /session_summary #1: lsid attribute is not a session id \("\.\.\/\.\.\/\.\.\/\.\.\/etc\/"\.\.\. \(523 characters\)/,
    );
    expect(l.details).toMatchObject({ session: 1, field: 'lsid' });
  });

  it('with a rejected list, bad session elements are left out and described there; the good ones are returned', () => {
    const rejected: RejectedSession[] = [];
    const xml = [
      '<session_list>',
      '<session lsid="good-1"><start_time timestamp="1"/></session>',
      '<session><start_time timestamp="1"/></session>',
      '<session lsid="../../etc/passwd"><start_time timestamp="1"/></session>',
      '<session lsid="abc"><start_time>yesterday</start_time></session>',
      '<session lsid="good-2"><start_time timestamp="2"/></session>',
      '</session_list>',
    ].join('');
    expect(parseSessionList(xml, ctx, rejected).map((s) => s.lsid)).toEqual(['good-1', 'good-2']);
    expect(rejected).toEqual([
      {
        lsid: undefined,
        reason: 'lsid_missing',
        detail: expect.stringMatching(/lsid attribute is missing \(session #1\)/),
      },
      { lsid: '../../etc/passwd', reason: 'lsid_invalid', detail: expect.stringMatching(/is not a session id/) },
      { lsid: 'abc', reason: 'field_invalid', detail: expect.stringMatching(/^session abc: start_time /) },
    ]);
    const inListing: RejectedSession[] = [];
    const listing =
      '<session_summary_list><session_summary lsid="ok" has_recording="1"/><session_summary lsid="a.b"/><session_summary/></session_summary_list>';
    expect(parseSessionListing(listing, ctx, inListing)).toEqual([{ lsid: 'ok', hasRecording: true }]);
    expect(inListing.map((r) => [r.lsid, r.reason])).toEqual([
      ['a.b', 'lsid_invalid'],
      [undefined, 'lsid_missing'],
    ]);
    // A document that is not a report at all still fails whole.
    expect(thrown(() => parseSessionList('<session_list><session', ctx, [])).code).toBe('report.xml_invalid');
    expect(thrown(() => parseSessionList('<other/>', ctx, [])).code).toBe('report.xml_invalid');
  });

  it('a refused lsid is kept bounded: at most 100 UTF-16 units, never half a pair, controls shown as U+FFFD', () => {
    expect(boundedLsid('a\u0001b')).toBe('a\uFFFDb');
    expect(boundedLsid('x'.repeat(100))).toBe('x'.repeat(100));
    expect(boundedLsid('x'.repeat(101))).toBe('x'.repeat(100) + '...');
    expect(boundedLsid('x' + '😀'.repeat(60))).toBe('x' + '😀'.repeat(49) + '...');
  });

  it('lsids of real appliances, the simulator and the spec examples are accepted', () => {
    for (const lsid of [
      'c0b7a4e6d2f34b9a8e1f0a2b3c4d5e6f',
      '00000000000000000000000000000002',
      new SessionGenerator({ seed: 1, count: 3, hostName: 'h', product: 'pra', firstStartMs: 0, spacingMs: 1 }).lsidOf(
        2,
      ),
      'a1',
      'x_y-Z',
      'x'.repeat(64),
    ]) {
      const [s] = parseSessionList(
        `<session_list><session lsid="${lsid}"><start_time timestamp="1"/></session></session_list>`,
        ctx,
      );
      expect(s!.lsid).toBe(lsid);
    }
  });

  it('an unexpected root element is named', () => {
    expect(thrown(() => parseReport('<html><body/></html>', ctx)).message).toMatch(/unexpected root element <html>/);
  });

  it('splits addresses with ports, keeps bare IPv6, drops Unknown', () => {
    expect(splitAddress('4.231.237.19:61606')).toEqual({ ip: '4.231.237.19', port: 61606 });
    expect(splitAddress('[2a01:db8::5]:56722')).toEqual({ ip: '2a01:db8::5', port: 56722 });
    expect(splitAddress('2a01:db8::5')).toEqual({ ip: '2a01:db8::5', port: null });
    expect(splitAddress('10.0.0.1')).toEqual({ ip: '10.0.0.1', port: null });
    expect(splitAddress('Unknown')).toEqual({ ip: null, port: null });
    expect(splitAddress(undefined)).toEqual({ ip: null, port: null });
  });
});
