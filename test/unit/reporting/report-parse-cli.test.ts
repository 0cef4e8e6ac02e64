import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/main.js';

const FIXTURE = 'test/fixtures/reporting/access-session-real.xml';

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(c, _e, cb) {
        f(String(c));
        cb();
      },
    });
  const code = await runCli(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), env: {} });
  return { code, out, err };
}

function temp(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'report-parse-')), name);
  writeFileSync(file, text);
  return file;
}

describe('ecm-bridge report parse', () => {
  it('--json prints {sessions: [...]} with ISO times, null for in-progress end, decoded bodies', async () => {
    const { code, out } = await cli('report', 'parse', FIXTURE, '--json');
    expect(code).toBe(0);
    const doc = JSON.parse(out);
    expect(Object.keys(doc)).toEqual(['sessions']);
    expect(doc.sessions).toHaveLength(2);
    const [s, open] = doc.sessions;
    expect(Object.keys(s).slice(0, 1)).toEqual(['lsid']);
    expect(s).not.toHaveProperty('hostName');
    expect(s).toMatchObject({
      lsid: 'c0b7a4e6d2f34b9a8e1f0a2b3c4d5e6f',
      startTime: '2026-01-01T10:00:00.000Z',
      endTime: '2026-01-01T10:15:30.000Z',
    });
    expect(s.events[1]).toMatchObject({
      type: 'Chat Message',
      body: 'bell\u0007 & 😀',
      time: '2026-01-01T10:05:00.000Z',
    });
    expect(s.customers[0]).toMatchObject({ publicIp: '4.231.237.19', publicPort: 61606, privateIp: null, os: null });
    expect(s.representatives).toHaveLength(1);
    expect(s.customAttributes).toEqual([{ codeName: 'ticket', displayName: 'Ticket', value: 'INC-4711 & more' }]);
    expect(open).toMatchObject({ endTime: null, events: [] });
  });

  it('--host adds hostName; the plain form prints one line per session and a total', async () => {
    const json = JSON.parse((await cli('report', 'parse', FIXTURE, '--json', '--host', 'access.example.com')).out);
    expect(Object.keys(json.sessions[0]).slice(0, 2)).toEqual(['lsid', 'hostName']);
    const { code, out } = await cli('report', 'parse', FIXTURE);
    expect(code).toBe(0);
    expect(out).toContain(
      'c0b7a4e6d2f34b9a8e1f0a2b3c4d5e6f  2026-01-01T10:00:00Z .. 2026-01-01T10:15:30Z  00:15:30  rep Zoë Müller  endpoint web01  4 events  ticket INC-4711',
    );
    expect(out).toContain('2 session(s), 1 in progress, 4 events');
  });

  it('a listing gives {summaries: [{lsid, hasRecording}]}', async () => {
    const file = temp(
      'listing.xml',
      '<session_summary_list xmlns="http://www.beyondtrust.com/sra/namespaces/API/reporting"><session_summary lsid="a1" has_recording="1"/><session_summary lsid="b2" has_recording="0"/></session_summary_list>',
    );
    const { code, out } = await cli('report', 'parse', file, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({
      summaries: [
        { lsid: 'a1', hasRecording: true },
        { lsid: 'b2', hasRecording: false },
      ],
    });
  });

  it('an <error> report or broken XML exits 1 with the reason; a missing file is a usage error (2)', async () => {
    const error = await cli('report', 'parse', temp('err.xml', '<error>Invalid report type</error>'), '--json');
    expect(error.code).toBe(1);
    expect(error.out).toBe('');
    expect(error.err).toMatch(/err\.xml: \[appliance\.api_error\] the report is an <error>: Invalid report type/);
    const broken = await cli('report', 'parse', temp('broken.xml', '<session_list><session lsid="x"></session_list>'));
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(/broken\.xml: \[report\.xml_invalid\] .* at line 1, column \d+/);
    const missing = await cli('report', 'parse', '/nonexistent/report.xml');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read \/nonexistent\/report\.xml \(ENOENT\)/);
  });
});
