import type { Dispatcher } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpAgent } from '../../../src/platform/http-agent.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { PasswordSafeVault } from '../../../src/vault/passwordsafe/password-safe-vault.js';
import { JDOE, LogCapture, startHarness, type Harness } from './ps-harness.js';
import { rejection } from '../../helpers/rejection.js';

/**
 * A dispatcher that lets the next `POST Requests` reach the simulator (which creates the request)
 * and then loses the answer, as a connection reset after sending would.
 */
class LoseAnswer {
  pending = 0;
  constructor(private readonly inner: Dispatcher) {}
  async request(opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
    const res = await this.inner.request(opts);
    if (this.pending > 0 && opts.method === 'POST' && /\/requests$/i.test(String(opts.path))) {
      this.pending--;
      await res.body.text();
      throw Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    }
    return res;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const ADMIN = { systemId: 1, accountId: 101, kind: 'password' as const };
const live = (h: Harness) =>
  h.sim
    .requests()
    .filter(
      (r) =>
        r.user.name.toLowerCase() === JDOE &&
        r.account.id === ADMIN.accountId &&
        (r.status === 'approved' || r.status === 'pending'),
    );

describe('Password Safe adapter: POST Requests is never blindly resent', () => {
  let h: Harness;
  let lose: LoseAnswer;
  let vault: PasswordSafeVault;
  beforeAll(async () => {
    h = await startHarness();
    lose = new LoseAnswer(createHttpAgent({ connectTimeoutMs: 5000, requestTimeoutMs: 15_000, caFile: h.caFile }));
    vault = new PasswordSafeVault(h.config(), {
      log: createLogger({ level: 'trace' }, new LogCapture()),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      clock: h.clock,
      random: () => 0.5,
      dispatcher: lose as unknown as Dispatcher,
    });
  });
  afterAll(async () => {
    await vault.close();
    await lose.close();
    await h.close();
  });
  beforeEach(() => {
    h.sim.faults.clear();
    h.sim.resetCalls();
    h.clock.sleeps.length = 0;
    lose.pending = 0;
  });

  it('finds and uses the request when the answer to a processed POST is lost (no orphan, no second POST)', async () => {
    lose.pending = 1;
    const out = await vault.checkout({ vaultUser: JDOE, account: ADMIN, durationMinutes: 15, reason: 'r' });
    expect(h.sim.calls('POST Requests')).toBe(1);
    expect(h.sim.calls('GET Requests')).toBe(1);
    const open = live(h);
    expect(open.map((r) => String(r.id))).toEqual([out.requestId]);
    expect(out.password?.reveal()).toBe(h.sim.currentPassword(open[0]!.account.system.name, open[0]!.account.name));
    await vault.checkin(JDOE, out.requestId, 'done');
    expect(live(h)).toEqual([]);
  });

  it('checks the found request in when the caller gave up meanwhile', async () => {
    const ac = new AbortController();
    lose.pending = 1;
    const original = lose.request.bind(lose);
    lose.request = async (opts) => {
      try {
        return await original(opts);
      } catch (e) {
        ac.abort(new Error('deadline'));
        throw e;
      }
    };
    try {
      const e = await rejection(
        vault.checkout({ vaultUser: JDOE, account: ADMIN, durationMinutes: 15, reason: 'r' }, ac.signal),
      );
      expect(e.details?.ambiguous).toBe(true);
    } finally {
      lose.request = original;
    }
    expect(h.sim.calls('POST Requests')).toBe(1);
    expect(live(h)).toEqual([]);
  });

  it('fails with vault.unavailable, without resending, when a reset lost the POST before it was processed', async () => {
    h.sim.faults.resetNext(1, 'POST Requests');
    const e = await rejection(vault.checkout({ vaultUser: JDOE, account: ADMIN, durationMinutes: 15, reason: 'r' }));
    expect(e.code).toBe('vault.unavailable');
    expect(h.sim.calls('POST Requests')).toBe(1);
    expect(h.sim.calls('GET Requests')).toBe(1);
    expect(live(h)).toEqual([]);
  });

  it('still retries a POST the server refused (503, 429)', async () => {
    h.sim.faults.failNext(1, 503, { route: 'POST Requests' });
    h.sim.faults.failNext(1, 429, { route: 'POST Requests' });
    const out = await vault.checkout({ vaultUser: JDOE, account: ADMIN, durationMinutes: 15, reason: 'r' });
    expect(h.sim.calls('POST Requests')).toBe(3);
    expect(h.clock.sleeps).toHaveLength(2);
    expect(live(h).map((r) => String(r.id))).toEqual([out.requestId]);
    await vault.checkin(JDOE, out.requestId, 'done');
  });

  it('does not resend a POST answered by another 5xx', async () => {
    h.sim.faults.failNext(1, 502, { route: 'POST Requests' });
    const e = await rejection(vault.checkout({ vaultUser: JDOE, account: ADMIN, durationMinutes: 15, reason: 'r' }));
    expect(e.code).toBe('vault.unavailable');
    expect(h.sim.calls('POST Requests')).toBe(1);
    expect(live(h)).toEqual([]);
  });
});
