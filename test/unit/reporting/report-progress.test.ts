import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ReportProgress } from '../../../src/cli/report-progress.js';

function stream(tty: boolean) {
  let text = '';
  const s = Object.assign(
    new Writable({
      write(c, _e, cb) {
        text += String(c);
        cb();
      },
    }),
    { isTTY: tty, columns: 100 },
  );
  return { s, text: () => text };
}

describe('backfill progress', () => {
  it('on a terminal, redraws one bar in place with done/total, rate and ETA', () => {
    const out = stream(true);
    const p = new ReportProgress(out.s, 'backfill corp-pra');
    p.start(200, undefined);
    p.update(50, 200, undefined);
    p.update(100, 200, '2026-01-01T02:00:00.000Z');
    p.finish('200 session(s) loaded (200 new, 0 updated)');
    const frames = out.text().split('\r').slice(1);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatch(/^\[#{5,}-+\]  25%  50\/200 sessions  \d+\/s  ETA [\d:-]+\x1b\[K$/);
    expect(frames[1]).toMatch(/^\[#+-+\]  50%  100\/200 sessions/);
    expect(out.text()).toMatch(/\nbackfill corp-pra: 200 session\(s\) loaded \(200 new, 0 updated\) in \d\d:\d\d\n$/);
  });

  it('elsewhere, prints plain lines: every committed slice, and no more than one per 5 s between', () => {
    const out = stream(false);
    const p = new ReportProgress(out.s, 'backfill corp-pra');
    p.start(300, '2026-01-01T01:00:00.000Z');
    p.update(100, 300, '2026-01-01T02:00:00.000Z');
    p.update(150, 300, undefined);
    p.update(200, 300, '2026-01-01T03:00:00.000Z');
    const lines = out.text().trim().split('\n');
    expect(out.text()).not.toContain('\r');
    expect(lines[0]).toBe('backfill corp-pra: 300 session(s) to load (resuming after 2026-01-01T01:00:00.000Z)');
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(
        /^backfill corp-pra: 100\/300 sessions {2}\d+\/s {2}ETA [\d:-]+ \(33%\), committed up to 2026-01-01T02:00:00.000Z$/,
      ),
      expect.stringMatching(
        /^backfill corp-pra: 200\/300 sessions .* \(66%\), committed up to 2026-01-01T03:00:00.000Z$/,
      ),
    ]);
  });
});
