import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.js';
import { RecentCounts } from '../../../src/platform/recent-counts.js';

describe('RecentCounts (requests answered/refused in the last hour)', () => {
  it('sums the last 60 minutes and forgets older minutes', async () => {
    const clock = new ManualClock();
    const counts = new RecentCounts<'answered' | 'refused'>(clock);
    counts.add('answered', 3);
    counts.add('refused');
    await clock.advance(30 * 60_000);
    counts.add('answered');
    expect(counts.totals(['answered', 'refused'])).toEqual({ answered: 4, refused: 1 });
    await clock.advance(31 * 60_000); // the first minute is now more than an hour old
    expect(counts.totals(['answered', 'refused'])).toEqual({ answered: 1, refused: 0 });
    await clock.advance(60 * 60_000);
    expect(counts.totals(['answered', 'refused'])).toEqual({ answered: 0, refused: 0 });
  });
});
