import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpAgent } from '../../../src/platform/http-agent.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { PasswordSafeVault } from '../../../src/vault/passwordsafe/password-safe-vault.js';
import { ASMITH, DEMO_KEY, JDOE, startHarness, WEB01, type Harness } from './ps-harness.js';
import { rejection } from '../../helpers/rejection.js';
import { wireCode } from '../../../src/appliance/channel/wire-errors.js';

describe('Password Safe adapter: sessions, retries and failures over real sockets', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());
  beforeEach(() => {
    h.sim.faults.clear();
    h.sim.resetCalls();
    h.clock.sleeps.length = 0;
  });

  it('signs in again once when the session expires mid-flow, without a duplicate request', async () => {
    const vault = h.vault();
    const admin = (await vault.listAccounts(JDOE, WEB01)).find((a) => a.accountName === 'helpdesk-local')!;
    const signInsBefore = h.sim.sessions.signIns.get(JDOE) ?? 0;
    expect(h.sim.expireSessions(JDOE)).toBeGreaterThan(0);
    const out = await vault.checkout({ vaultUser: JDOE, account: admin, durationMinutes: 5, reason: 'r' });
    expect(h.sim.sessions.signIns.get(JDOE)).toBe(signInsBefore + 1);
    expect(h.sim.calls('POST Requests')).toBe(2); // the 401 and the retry
    expect(h.sim.requests().filter((r) => r.account.id === admin.accountId && r.status === 'approved')).toHaveLength(1);
    await vault.checkin(JDOE, out.requestId, 'done');
  });

  it('shares one re-sign-in between concurrent calls that all meet the expired session', async () => {
    const vault = h.vault({ cache: { discoveryTtlSeconds: 0 } });
    await vault.listAccounts(ASMITH, WEB01);
    const before = h.sim.sessions.signIns.get(ASMITH)!;
    h.sim.expireSessions(ASMITH);
    const lists = await Promise.all([
      vault.listAccounts(ASMITH, WEB01),
      vault.listAccounts(ASMITH, WEB01),
      vault.searchSystems(ASMITH, 'web', 5),
    ]);
    expect(lists.map((l) => l.length)).toEqual([1, 1, 1]);
    expect(h.sim.sessions.signIns.get(ASMITH)).toBe(before + 1);
  });

  it('reuses one pooled session per vault user', async () => {
    const vault = h.vault();
    const before = h.sim.sessions.signIns.get(ASMITH) ?? 0;
    await Promise.all([
      vault.listAccounts(ASMITH, WEB01),
      vault.listAccounts(ASMITH, { names: ['db01'], ips: [] }),
      vault.searchSystems(ASMITH, 'web', 10),
    ]);
    expect(h.sim.sessions.signIns.get(ASMITH)).toBe(before + 1);
  });

  it('retries a 503 burst with jittered backoff and succeeds', async () => {
    const vault = h.vault({ cache: { discoveryTtlSeconds: 0 } });
    h.sim.faults.failNext(2, 503, { route: 'GET Workgroups' });
    const accounts = await vault.listAccounts(JDOE, WEB01);
    expect(accounts.length).toBeGreaterThan(0);
    expect(h.sim.calls('GET Workgroups')).toBe(3);
    // random() = 0.5: half of base * 2^attempt.
    expect(h.clock.sleeps).toEqual([50, 100]);
  });

  it('gives up after the configured retries with vault.unavailable', async () => {
    const vault = h.vault({ retries: { max: 2, baseDelayMs: 100, maxDelayMs: 5000 } });
    h.sim.faults.failNext(50, 502, { route: 'POST Auth/SignAppin' });
    const e = await rejection(vault.listAccounts(JDOE, WEB01));
    expect(e.code).toBe('vault.unavailable');
    expect(wireCode(e.code)).toBe('vault_unavailable');
    expect(h.sim.calls('POST Auth/SignAppin')).toBe(3);
    expect(vault.lastFailure).toMatchObject({
      code: 'vault.unavailable',
      message: expect.stringMatching(/unavailable \(HTTP 502\) after 3 attempt/),
    });
    h.sim.faults.clear();
    await vault.listAccounts(JDOE, WEB01);
    expect(vault.lastFailure).toBeUndefined();
  });

  it('honours Retry-After on 429 and refuses to wait longer than maxDelayMs', async () => {
    const vault = h.vault({ cache: { discoveryTtlSeconds: 0 } });
    h.sim.faults.failNext(1, 429, { route: 'GET Platforms', retryAfterSeconds: 2 });
    await vault.listAccounts(JDOE, WEB01);
    expect(h.clock.sleeps).toEqual([2000]);
    h.sim.faults.failNext(1, 429, { route: 'GET Platforms', retryAfterSeconds: 60 });
    const e = await rejection(vault.listAccounts(JDOE, WEB01));
    expect(e.code).toBe('vault.unavailable');
    expect(e.details?.retryAfterMs).toBe(60_000);
    expect(h.clock.sleeps).toEqual([2000]);
  });

  it('retries connection resets', async () => {
    const vault = h.vault({ cache: { discoveryTtlSeconds: 0 } });
    await vault.listAccounts(JDOE, WEB01);
    h.sim.faults.resetNext(1, 'GET Workgroups');
    await vault.listAccounts(JDOE, WEB01);
    expect(h.sim.calls('GET Workgroups')).toBe(3);
    expect(h.clock.sleeps).toHaveLength(1);
  });

  it('treats a vault slower than requestMs as a transport failure (retried, then unavailable)', async () => {
    const vault = h.vault({
      timeouts: { connectMs: 5000, requestMs: 100 },
      retries: { max: 1, baseDelayMs: 100, maxDelayMs: 5000 },
    });
    // undici checks its timeouts about once a second, so the delay must clearly exceed that.
    h.sim.faults.latencyMs = 2500;
    // A user of its own: the simulator completes the abandoned sign-ins later.
    const e = await rejection(vault.listAccounts('svc-ecm@corp.example.com', WEB01));
    expect(e.code).toBe('vault.unavailable');
    expect(e.details?.last).toBe('UND_ERR_HEADERS_TIMEOUT');
    expect(h.clock.sleeps).toHaveLength(1);
  });

  it('refuses a non-positive duration before calling the vault', async () => {
    const vault = h.vault();
    const e = await rejection(
      vault.checkout({
        vaultUser: JDOE,
        account: { systemId: 1, accountId: 102, kind: 'password' },
        durationMinutes: 0,
        reason: 'r',
      }),
    );
    expect(e.code).toBe('request.bad');
    expect(h.sim.calls()).toBe(0);
  });

  it('never retries a business error', async () => {
    const vault = h.vault();
    await rejection(
      vault.checkout({
        vaultUser: ASMITH,
        account: { systemId: 1, accountId: 101, kind: 'password' },
        durationMinutes: 5,
        reason: 'r',
      }),
    );
    expect(h.sim.calls('POST Requests')).toBe(1);
    expect(h.clock.sleeps).toEqual([]);
  });

  it('fails TLS verification without the simulator CA (no retry, its own code, on health too)', async () => {
    const vault = h.vault({ caFile: undefined, probeUser: JDOE });
    const e = await rejection(vault.listAccounts(JDOE, WEB01));
    expect(e.code).toBe('vault.tls');
    expect(e.message).toMatch(/not trusted/);
    expect(h.clock.sleeps).toEqual([]);
    expect(vault.lastFailure?.code).toBe('vault.tls');
    expect(await vault.health()).toMatchObject({ code: 'vault.tls' });
  });

  it('refuses an unreadable or non-PEM CA file, naming the file, when the settings are validated', () => {
    // The adapter's own refusal (config.ca_unreadable when the agent is built) is in startup-config.unit.test.ts.
    const notPem = join(mkdtempSync(join(tmpdir(), 'ps-ca-')), 'ca.pem');
    writeFileSync(notPem, 'this is not a certificate\n');
    expect(() => h.vault({ caFile: notPem })).toThrow(`CA file ${notPem} holds no PEM certificate`);
    expect(() => h.vault({ caFile: `${notPem}.missing` })).toThrow(`CA file ${notPem}.missing cannot be read (ENOENT)`);
  });

  it('fails fast on a header value HTTP cannot carry, and leaks no connection slot', async () => {
    // One connection: a request that kept its slot would leave every later one waiting.
    const dispatcher = createHttpAgent({
      connectTimeoutMs: 5000,
      requestTimeoutMs: 15_000,
      caFile: h.caFile,
      connections: 1,
    });
    const vault = new PasswordSafeVault(h.config(), {
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      clock: h.clock,
      dispatcher,
    });
    try {
      for (let i = 0; i < 20; i++) {
        const e = await rejection(vault.listAccounts('\u7528\u6237@corp.example.com', WEB01));
        // Refused before any network work (runas-name.ts); undici's own UND_ERR_INVALID_ARG behind it
        // is surfaced as vault.request_invalid and never retried (test/unit/platform/http-edge.test.ts).
        expect(e.code).toBe('request.bad');
      }
      expect(h.sim.calls()).toBe(0);
      expect(h.clock.sleeps).toEqual([]);
      const lists = await Promise.all([vault.listAccounts(JDOE, WEB01), vault.listAccounts(ASMITH, WEB01)]);
      expect(lists.map((l) => l.length > 0)).toEqual([true, true]);
    } finally {
      await vault.close();
      await dispatcher.close();
    }
  });

  it('signs out of every pooled session on close, and on LRU eviction', async () => {
    const vault = new PasswordSafeVault(h.config({ sessionPool: { maxSessions: 1, idleSeconds: 900 } }), {
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      clock: h.clock,
    });
    h.sim.expireSessions();
    const outJ = h.sim.sessions.signOuts.get(JDOE) ?? 0;
    const outA = h.sim.sessions.signOuts.get(ASMITH) ?? 0;
    await vault.listAccounts(JDOE, { names: ['app02'], ips: [] });
    await vault.listAccounts(ASMITH, { names: ['app02'], ips: [] }); // evicts jdoe's session
    await vault.close();
    expect(h.sim.sessions.signOuts.get(JDOE)).toBe(outJ + 1);
    expect(h.sim.sessions.signOuts.get(ASMITH)).toBe(outA + 1);
    expect(h.sim.sessions.liveSessions().filter((u) => u === JDOE || u === ASMITH)).toEqual([]);
    expect((await rejection(vault.listAccounts(JDOE, WEB01))).code).toBe('service.shutting_down');
  });

  it('does not hold up shutdown retrying a failed sign-out', async () => {
    const vault = h.vault();
    await vault.listAccounts(ASMITH, { names: ['web01'], ips: [] });
    h.sim.faults.failNext(5, 503, { route: 'POST Auth/Signout' });
    await vault.close();
    expect(h.sim.calls('POST Auth/Signout')).toBe(1);
    expect(h.clock.sleeps).toEqual([]);
    expect(h.logs.text).toContain('Password Safe sign-out failed');
  });

  it('replaces a session left idle longer than idleSeconds', async () => {
    const vault = h.vault({ sessionPool: { maxSessions: 10, idleSeconds: 60 } });
    await vault.listAccounts(ASMITH, { names: ['web01'], ips: [] });
    const before = h.sim.sessions.signIns.get(ASMITH)!;
    h.clock.advance(61_000);
    await vault.searchSystems(ASMITH, '', 5);
    expect(h.sim.sessions.signIns.get(ASMITH)).toBe(before + 1);
  });

  it('keeps secrets out of logs, errors and metrics', async () => {
    const vault = h.vault({ auth: { method: 'apikey', apiKey: 'env:PS_KEY', runasPassword: 'runas-pwd-literal-123' } });
    const accounts = await vault.listAccounts(JDOE, { names: ['db01'], ips: [] });
    const root = accounts.find((a) => a.accountName === 'root')!;
    const pg = accounts.find((a) => a.accountName === 'postgres')!;
    h.sim.expireSessions(JDOE);
    const key = await vault.checkout({ vaultUser: JDOE, account: root, durationMinutes: 5, reason: 'r' });
    const pw = await vault.checkout({ vaultUser: JDOE, account: pg, durationMinutes: 5, reason: 'r' });
    await vault.checkin(JDOE, key.requestId, 'done');
    await vault.checkin(JDOE, pw.requestId, 'done');
    const failed = await rejection(
      vault.checkout({ vaultUser: JDOE, account: { ...pg, accountId: 999 }, durationMinutes: 5, reason: 'r' }),
    );
    const metrics = await h.metrics.metrics();
    const cookies = h.sim.sessions.liveSessions().length;
    expect(cookies).toBeGreaterThan(0);
    const haystacks = [h.logs.text, metrics, JSON.stringify(failed), failed.message, JSON.stringify(failed.details)];
    const secrets = [
      DEMO_KEY,
      'runas-pwd-literal-123',
      pw.password!.reveal(),
      key.privateKey!.reveal().split('\n')[1]!,
      'demo-passphrase',
      'ASP.NET_SessionId=',
    ];
    expect(h.logs.lines.length).toBeGreaterThan(5);
    for (const hay of haystacks) for (const s of secrets) expect(hay).not.toContain(s);
    expect(h.logs.text).toMatch(/"op":"create_request","method":"POST","status":201/);
    expect(h.logs.text).toMatch(/"op":"get_credential","method":"GET","status":200/);
    expect(metrics).toMatch(/ecm_bridge_vault_requests_total\{op="create_request",outcome="ok"\} \d+/);
    expect(metrics).toMatch(/ecm_bridge_vault_request_duration_seconds_count\{op="get_credential"\} \d+/);
  });
});
