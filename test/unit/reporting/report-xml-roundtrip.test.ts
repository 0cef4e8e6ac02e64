import { describe, expect, it } from 'vitest';
import { parseReport, parseSessionList, parseSessionListing } from '../../../src/reporting/report-xml-parser.js';
import { ReportXmlWriter, type NamespaceStyle } from '../../../src/simulators/appliance/reporting/report-xml-writer.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';

const ctx = { site: 'corp-pra', hostName: 'access.example.com', report: 'AccessSession', window: 'test' };
const T0 = Date.UTC(2026, 0, 1);

function generator(product: 'pra' | 'rs', count = 300) {
  return new SessionGenerator({
    seed: 7,
    count,
    hostName: 'access.example.com',
    product,
    firstStartMs: T0,
    spacingMs: 60_000,
  });
}

function render(g: SessionGenerator, indexes: number[], now: number, style: NamespaceStyle): string {
  const w = new ReportXmlWriter(style);
  return (
    w.head('session_list') +
    indexes.map((i) => w.session(g.session(i, now), g.options.product)).join('') +
    w.tail('session_list')
  );
}

describe('report XML: generator → writer → parser', () => {
  for (const product of ['pra', 'rs'] as const) {
    for (const style of ['real', 'docs', 'prefixed'] as const) {
      it(`parses ${product} sessions in the ${style} namespace style back to exactly what was generated`, () => {
        const g = generator(product);
        const now = T0 + 150 * 60_000;
        const indexes = [...Array(160).keys()];
        const parsed = parseSessionList(render(g, indexes, now, style), ctx);
        expect(parsed).toEqual(indexes.map((i) => g.session(i, now).record));
      });
    }
  }

  it('covers the quirks: in-progress sessions, encoded bodies, ports, Unknown, ISO event times, empty lists', () => {
    const g = generator('pra');
    const now = T0 + 150 * 60_000;
    const all = [...Array(150).keys()].map((i) => g.session(i, now));
    const xml = render(
      g,
      all.map((s) => s.index),
      now,
      'real',
    );
    expect(xml).toContain('<encoded_body>');
    expect(xml).toMatch(/<public_ip>\[2a01:db8::[0-9a-f]+\]:\d+<\/public_ip>/);
    expect(xml).toMatch(/<public_ip>4\.231\.\d+\.\d+:\d+<\/public_ip>/);
    expect(xml).toContain('<os>Unknown</os>');
    expect(xml).toMatch(/<event timestamp="2026-01-01T\d\d:\d\d:\d\d\+00:00"/);
    expect(xml).toContain('<custom_attributes/>');
    expect(xml).toContain('<end_time/>');
    const parsed = parseSessionList(xml, ctx);
    expect(parsed.some((s) => s.endTime === null)).toBe(true);
    expect(parsed.flatMap((s) => s.events).some((e) => e.body?.includes('\u001b[31m'))).toBe(true);
    expect(
      parsed
        .flatMap((s) => s.representatives)
        .some((r) => r.publicIp?.startsWith('2a01:db8::') && r.publicPort !== null),
    ).toBe(true);
  });

  it('reads listings and tells them from session lists', () => {
    const w = new ReportXmlWriter('docs');
    const xml =
      w.head('session_summary_list') +
      w.summary('abc', true) +
      w.summary('def', false) +
      w.tail('session_summary_list');
    expect(parseSessionListing(xml, ctx)).toEqual([
      { lsid: 'abc', hasRecording: true },
      { lsid: 'def', hasRecording: false },
    ]);
    expect(parseReport(xml, ctx).kind).toBe('listing');
    expect(() => parseSessionList(xml, ctx)).toThrow(/expected a session_list/);
  });
});
