import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.js';
import { PullHistory } from '../../../src/reporting/pull-history.js';

describe('PullHistory (the status page chart)', () => {
  it('keeps each site’s pulls of the last 24 h, oldest first', async () => {
    const clock = new ManualClock();
    const h = new PullHistory(clock);
    h.record('a', { outcome: 'ok', sessions: 5, lagSeconds: 60 });
    await clock.advance(23 * 3_600_000);
    h.record('a', { outcome: 'failed', sessions: 0, lagSeconds: 3_600 });
    h.record('b', { outcome: 'ok', sessions: 1, lagSeconds: null });
    expect(h.last24h().a?.map((p) => p.sessions)).toEqual([5, 0]);
    await clock.advance(2 * 3_600_000);
    expect(h.last24h()).toEqual({
      a: [
        {
          at: new Date(Date.UTC(2026, 0, 1) + 23 * 3_600_000).toISOString(),
          outcome: 'failed',
          sessions: 0,
          lagSeconds: 3_600,
        },
      ],
      b: [
        {
          at: new Date(Date.UTC(2026, 0, 1) + 23 * 3_600_000).toISOString(),
          outcome: 'ok',
          sessions: 1,
          lagSeconds: null,
        },
      ],
    });
  });

  it('keeps at most maxPerSite records per site', () => {
    const h = new PullHistory(new ManualClock(), 3);
    for (let i = 0; i < 10; i++) h.record('a', { outcome: 'ok', sessions: i, lagSeconds: 0 });
    expect(h.last24h().a?.map((p) => p.sessions)).toEqual([7, 8, 9]);
  });
});
