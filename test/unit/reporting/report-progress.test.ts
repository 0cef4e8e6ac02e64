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

  it('elsewhere, prints a plain line every N committed slices or every few seconds, never one per slice', () => {
    const out = stream(false);
    let now = 0;
    const p = new ReportProgress(out.s, 'backfill corp-pra', { now: () => now }, { everySlices: 24, everyMs: 10_000 });
    p.start(7200, '2026-01-01T01:00:00.000Z');
    // 720 hourly slices of 10 sessions committing quickly: a line every 24 slices.
    for (let i = 1; i <= 720; i++) {
      now += 10;
      p.update(i * 10, 7200, `slice ${i}`);
    }
    // Then slowly, batch by batch: a line every 10 s at most.
    for (let i = 1; i <= 60; i++) {
      now += 1_000;
      p.update(7200, 7200, undefined);
    }
    p.finish('7200 session(s) loaded (7200 new, 0 updated)');
    const lines = out.text().trim().split('\n');
    expect(out.text()).not.toContain('\r');
    expect(lines[0]).toBe('backfill corp-pra: 7200 session(s) to load (resuming after 2026-01-01T01:00:00.000Z)');
    expect(lines[1]).toMatch(
      /^backfill corp-pra: 240\/7200 sessions {2}\d+\/s {2}ETA [\d:-]+ \(3%\), committed up to slice 24$/,
    );
    expect(lines.filter((l) => l.includes('committed up to'))).toHaveLength(720 / 24);
    expect(lines.filter((l) => /7200\/7200 sessions .*\(100%\)$/.test(l))).toHaveLength(6);
    expect(lines.at(-1)).toBe('backfill corp-pra: 7200 session(s) loaded (7200 new, 0 updated) in 01:07');
    expect(lines).toHaveLength(1 + 30 + 6 + 1);
  });
});
