import { describe, expect, it } from 'vitest';
import { SimFaults } from '../../../src/simulators/passwordsafe/sim-faults.js';

describe('SimFaults', () => {
  it('applies scripted faults to their route only, in order, then stops', () => {
    const f = new SimFaults();
    f.failNext(2, 503, { route: 'POST Requests' });
    f.resetNext(1);
    expect(f.decide('GET ManagedAccounts')).toEqual({ kind: 'reset' });
    expect(f.decide('post requests')).toEqual({ kind: 'status', status: 503 });
    expect(f.decide('POST Requests')).toEqual({ kind: 'status', status: 503 });
    expect(f.decide('POST Requests')).toEqual({ kind: 'none' });
  });

  it('draws rate-based faults from a seeded generator, so runs repeat', () => {
    const run = () => {
      const f = new SimFaults(7);
      f.rates = { error5xx: 0.2, rate429: 0.1, reset: 0.05 };
      return Array.from({ length: 2000 }, () => f.decide('GET Platforms'));
    };
    const a = run();
    expect(a).toEqual(run());
    const share = (k: (d: (typeof a)[number]) => boolean) => a.filter(k).length / a.length;
    expect(share((d) => d.kind === 'status' && d.status === 503)).toBeCloseTo(0.2, 1);
    expect(share((d) => d.kind === 'status' && d.status === 429 && d.retryAfterSeconds === 1)).toBeCloseTo(0.1, 1);
    expect(share((d) => d.kind === 'reset')).toBeGreaterThan(0.02);
  });
});
