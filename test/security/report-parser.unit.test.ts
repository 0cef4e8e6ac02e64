import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeReport, parseReport } from '../../src/reporting/report-xml-parser.js';
import { isServiceError, type ServiceError } from '../../src/platform/errors.js';
import { runCli } from '../../src/main.js';

const CTX = { site: 'corp-pra', hostName: 'access.example.com', report: 'AccessSession', window: 'w' };
const session = (inner: string, lsid = 'abc123') =>
  `<session_list xmlns="http://www.beyondtrust.com/sra/namespaces/API/reporting"><session lsid="${lsid}">${inner}</session></session_list>`;
const START = '<start_time timestamp="1767225600">2026-01-01T00:00:00+00:00</start_time>';

function refusal(xml: string): ServiceError {
  try {
    parseReport(xml, CTX);
  } catch (e) {
    if (isServiceError(e)) return e;
    throw new Error(`escaped as ${String(e)}`);
  }
  throw new Error('accepted');
}

/** A report from the appliance is outside input: every way it can be wrong is report.xml_invalid. */
describe('report parser: hostile and out-of-domain reports', () => {
  it.each([
    [
      'a character reference beyond Unicode',
      session(`${START}<external_key>&#x110000;</external_key>`),
      /&#x110000; names no XML character/,
    ],
    ['a surrogate character reference', session(`${START}<external_key>&#xD800;</external_key>`), /names no XML/],
    [
      'a reference far beyond Unicode',
      session(`${START}<external_key>&#123456789;</external_key>`),
      /&#123456789; names no XML/,
    ],
    [
      'a 20-digit reference',
      session(`${START}<external_key>&#99999999999999999999;</external_key>`),
      /&#99999999999999999999; names no XML/,
    ],
    ['a NUL reference', session(`${START}<external_key>&#0;</external_key>`), /&#0; names no XML/],
    [
      'an undefined entity',
      session(`${START}<external_key>&bogus;</external_key>`),
      /the entity &bogus; is not one XML defines/,
    ],
    [
      'a DOCTYPE with a parameter entity',
      '<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><session_list/>',
      /DOCTYPE declarations are refused at line 1, column 1/,
    ],
    [
      'a DOCTYPE with an entity expansion',
      '<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]><session_list>&b;</session_list>',
      /DOCTYPE declarations are refused at line 2/,
    ],
    [
      '50,000-deep nesting',
      `<session_list>${'<a>'.repeat(50_000)}${'</a>'.repeat(50_000)}</session_list>`,
      /nest deeper than 32 levels/,
    ],
    ['a __proto__ element', session(`${START}<__proto__><polluted>1</polluted></__proto__>`), /__proto__/],
    ['a __proto__ element in a listing', '<session_summary_list><__proto__/></session_summary_list>', /__proto__/],
  ])('%s', (_name, xml, reason) => {
    const e = refusal(xml);
    expect(e.code).toBe('report.xml_invalid');
    expect(e.message).toMatch(reason);
    expect(e.message).toContain('corp-pra');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['-1', 'start_time "-1" is neither unix seconds nor an ISO-8601 date-time'],
    ['0000-01-01T00:00:00Z', 'start_time "0000-01-01T00:00:00Z" is outside 1970-01-01..9999-12-31'],
    ['0099-01-01T00:00:00Z', 'is outside 1970-01-01..9999-12-31'],
    ['+275760-09-13T00:00:00Z', 'is neither unix seconds nor an ISO-8601 date-time'],
    ['2026-02-30', 'start_time "2026-02-30" is not a real calendar date and time'],
    ['2026-01-01T24:30:00Z', 'is not a real calendar date and time'],
    ['99999999999999', 'is outside 1970-01-01..9999-12-31'],
  ])('start_time %s is refused naming the session and field', (value, reason) => {
    const e = refusal(session(`<start_time>${value}</start_time>`, 'sess42'));
    expect(e.code).toBe('report.xml_invalid');
    expect(e.message).toContain(`session sess42: start_time "${value}"`);
    expect(e.message).toContain(reason);
    expect(e.details).toMatchObject({ lsid: 'sess42', field: 'start_time' });
  });

  it('end_time and event times are held to the same domain', () => {
    expect(refusal(session(`${START}<end_time timestamp="-5"/>`)).details).toMatchObject({ field: 'end_time' });
    const e = refusal(
      session(
        `${START}<session_details><event timestamp="1767225600" event_type="x"/><event event_type="y">2026-13-01</event></session_details>`,
      ),
    );
    expect(e.message).toMatch(/event #1 timestamp "2026-13-01" is not a real calendar date/);
  });

  it('times in the domain still parse, with offsets applied and no host time zone', () => {
    const [s] = (
      parseReport(
        session('<start_time>2026-03-01T10:00:00+02:00</start_time><end_time>2026-03-01T09:30:00</end_time>'),
        CTX,
      ) as {
        sessions: { startTime: Date; endTime: Date }[];
      }
    ).sessions;
    expect(s!.startTime.toISOString()).toBe('2026-03-01T08:00:00.000Z');
    expect(s!.endTime.toISOString()).toBe('2026-03-01T09:30:00.000Z');
  });

  it('invalid UTF-8 is refused instead of silently replaced', () => {
    const bytes = Buffer.concat([
      Buffer.from(session(`${START}<external_key>`)),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('</external_key>'),
    ]);
    let error: unknown;
    try {
      decodeReport(bytes, CTX);
    } catch (e) {
      error = e;
    }
    expect(isServiceError(error, 'report.xml_invalid')).toBe(true);
    expect((error as Error).message).toMatch(/not valid UTF-8/);
    expect(decodeReport(Buffer.from('<session_list>é</session_list>'), CTX)).toBe('<session_list>é</session_list>');
  });

  it('character references with leading zeros decode to their character, not kept literally', () => {
    const parsed = parseReport(
      session(`${START}<external_key>&#x0000000041;&#00000066;&#x00000000000000000000043;&amp;</external_key>`),
      CTX,
    );
    expect(parsed.kind === 'sessions' && parsed.sessions[0]?.externalKey).toBe('ABC&');
  });

  it('`report parse` exits 1 with report.xml_invalid for each, never 70 with a stack', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostile-report-'));
    const files = {
      deep: `<session_list>${'<a>'.repeat(50_000)}${'</a>'.repeat(50_000)}</session_list>`,
      proto: session(`${START}<__proto__>1</__proto__>`),
      bigref: session(`${START}<external_key>&#x110000;</external_key>`),
      year0: session('<start_time>0000-01-01T00:00:00Z</start_time>'),
    };
    for (const [name, xml] of Object.entries(files)) {
      const file = join(dir, `${name}.xml`);
      writeFileSync(file, xml);
      let err = '';
      const sink = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
      const code = await runCli(['report', 'parse', file], {
        stdout: sink(() => undefined),
        stderr: sink((s) => (err += s)),
        env: {},
      });
      expect(code, name).toBe(1);
      expect(err, name).toContain('[report.xml_invalid]');
      expect(err, name).not.toMatch(/\n\s+at /);
    }
  });
});
