import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/platform/errors.js';
import { brokerHarness, ctx, PASSWORD, SSH_KEY, T0 } from './broker-fixture.js';
import { toWireError } from '../../../src/appliance/channel/wire-errors.js';

async function refusal(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ServiceError);
    return e as ServiceError;
  }
  throw new Error('expected a refusal');
}

describe('Broker: credentials.list', () => {
  it("offers the mapped vault user's accounts for the endpoint, restricted and ordered", async () => {
    const h = brokerHarness();
    const { credentials } = await h.broker.handle('credentials.list', ctx(), {}, h.signal);
    // dmz-admin is dropped (Web servers allows workgroup CORP only); local before domain-linked.
    expect(credentials.map((c) => [c.displayName, c.username, c.domain, c.kind, c.source])).toEqual([
      ['Administrator (web01)', 'Administrator', undefined, 'password', 'local'],
      ['root (web01-legacy)', 'root', undefined, 'ssh-key', 'alias'],
      ['CORP\\svc-web (domain account)', 'svc-web', 'CORP', 'password', 'domain-linked'],
    ]);
    expect(h.vault.calls).toEqual([{ method: 'listAccounts', vaultUser: 'jdoe@corp.example.com' }]);
  });

  it('answers unmapped_user, forbidden (naming the deny rule), and an empty list when the vault has nothing', async () => {
    const h = brokerHarness();
    const unmapped = await refusal(
      h.broker.handle('credentials.list', ctx({ user: { username: 'OTHER\\jdoe' } }), {}, h.signal),
    );
    expect(toWireError(unmapped)).toEqual({
      code: 'unmapped_user',
      message: 'No user-mapping rule matches console user "OTHER\\jdoe"',
      retryable: false,
    });
    // The administrator's log line says which rule would fix it; the console never sees the configuration.
    const refused = h.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.code === 'mapping.unmapped');
    expect(refused).toMatchObject({
      level: 'info',
      msg: 'console request refused',
      hint:
        'no user-mapping rule matched OTHER\\jdoe; add e.g. `- { name: other-users, match: { domain: OTHER }, ' +
        'transform: { domain: keep } }` to userMapping.rules, then check it with ecm-bridge test-settings',
    });
    const denied = await refusal(
      h.broker.handle('credentials.list', ctx({ user: { username: 'CORP\\ext-bob' } }), {}, h.signal),
    );
    expect(toWireError(denied)).toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('mapping rule "contractors-denied"'),
    });
    // An expected refusal is logged at info with its reason, without a stack trace.
    const logged = h.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.code === 'mapping.denied');
    expect(logged).toMatchObject({
      level: 'info',
      msg: 'console request refused',
      reason: expect.stringContaining('contractors-denied'),
    });
    expect(logged).not.toHaveProperty('err');
    // The integration guide: an empty credential list is a valid result (the console offers manual entry).
    expect(
      await h.broker.handle('credentials.list', ctx({ endpoint: { hostname: 'nothing-here' } }), {}, h.signal),
    ).toEqual({ credentials: [] });
    const bad = await refusal(h.broker.handle('credentials.list', ctx({ endpoint: undefined }), {}, h.signal));
    expect(toWireError(bad)).toMatchObject({ code: 'bad_request', message: 'This request needs an endpoint' });
    const purpose = await refusal(h.broker.handle('credentials.list', ctx(), { purpose: 'steal' as never }, h.signal));
    expect(purpose.code).toBe('request.bad');
    const huge = await refusal(
      h.broker.handle('credentials.list', ctx({ user: { username: `CORP\\${'a'.repeat(600)}` } }), {}, h.signal),
    );
    expect(huge.code).toBe('request.too_large');
    const anonymous = await refusal(
      h.broker.handle('credentials.list', ctx({ user: { username: ' ' } }), {}, h.signal),
    );
    expect(toWireError(anonymous)).toMatchObject({
      code: 'bad_request',
      message: 'request.context.user.username is empty',
    });
  });

  it('logs the vault refusing one mapped user at info, without a stack; a vault outage stays a warning', async () => {
    const h = brokerHarness();
    h.vault.failNext(
      'listAccounts',
      new ServiceError('vault.auth_failed', 'Password Safe refused sign-in as vault user "jdoe@corp.example.com"', {
        op: 'vault.sign_in',
        details: { vaultUser: 'jdoe@corp.example.com', status: 401 },
      }),
    );
    expect((await refusal(h.broker.handle('credentials.list', ctx(), {}, h.signal))).code).toBe('vault.auth_failed');
    h.vault.failNext('listAccounts', new ServiceError('vault.unavailable', 'Password Safe is unreachable'));
    await refusal(h.broker.handle('credentials.list', ctx(), {}, h.signal));
    const refused = h.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'console request refused');
    expect(refused[0]).toMatchObject({
      level: 'info',
      code: 'vault.auth_failed',
      reason: expect.stringContaining('jdoe'),
    });
    expect(refused[0]).not.toHaveProperty('err');
    expect(refused[1]).toMatchObject({ level: 'warn', code: 'vault.unavailable' });
  });

  it('passes vault errors through with their wire code and retry flag', async () => {
    const h = brokerHarness();
    h.vault.failNext('listAccounts', new ServiceError('vault.unavailable', 'The vault could not be reached'));
    const e = await refusal(h.broker.handle('credentials.list', ctx(), {}, h.signal));
    expect(toWireError(e)).toEqual({
      code: 'vault_unavailable',
      message: 'The vault could not be reached',
      retryable: true,
    });
  });
});

describe('Broker: credentials.get', () => {
  it('checks out, returns the secret once, records a lease and an audit row without the secret', async () => {
    const h = brokerHarness();
    await h.broker.start();
    const offered = (await h.broker.handle('credentials.list', ctx(), {}, h.signal)).credentials;
    const { credential } = await h.broker.handle('credentials.get', ctx(), { credentialId: offered[0]!.id }, h.signal);
    expect(credential).toMatchObject({
      id: offered[0]!.id,
      username: 'Administrator',
      password: PASSWORD,
      expiresAt: new Date(T0 + 30 * 60_000).toISOString(),
    });

    const [request] = h.vault.openRequests();
    expect(request).toMatchObject({
      vaultUser: 'jdoe@corp.example.com',
      systemId: 10,
      accountId: 100,
      durationMinutes: 30,
    });
    expect(request?.reason).toBe('ecm-bridge: CORP\\jdoe session c0ffee01 ticket CHG-1234');

    const lease = await h.state.getLease(credential.leaseId);
    expect(lease).toEqual({
      leaseId: credential.leaseId,
      vaultRequestId: request?.requestId,
      owner: 'instance-a',
      site: 'default',
      consoleUser: 'CORP\\jdoe',
      vaultUser: 'jdoe@corp.example.com',
      systemId: 10,
      systemName: 'web01',
      accountId: 100,
      accountName: 'Administrator',
      lsid: 'c0ffee01',
      auditId: 1,
      createdAt: new Date(T0),
      expiresAt: new Date(T0 + 30 * 60_000),
      credential: { key: expect.any(String), expiresAt: expect.any(Date) },
    });
    const [event] = await h.state.listCredentialEvents({ lsid: 'c0ffee01' });
    expect(event).toEqual({
      id: 1,
      site: 'default',
      lsid: 'c0ffee01',
      jumpItemId: 9001,
      jumpItemName: 'web01 RDP',
      consoleUser: 'CORP\\jdoe',
      vaultUser: 'jdoe@corp.example.com',
      vaultRequestId: request?.requestId,
      systemName: 'web01',
      accountName: 'Administrator',
      outcome: 'checked_out',
      errorCode: null,
      checkoutAt: new Date(T0),
      checkinAt: null,
      checkinBy: null,
      checkinReason: null,
    });

    await h.broker.handle('credentials.release', ctx(), { leaseId: credential.leaseId }, h.signal);
    const [after] = await h.state.listCredentialEvents({ lsid: 'c0ffee01' });
    expect(after).toMatchObject({ outcome: 'checked_in', checkinAt: new Date(T0), checkinReason: 'release' });

    // Never the secret: not in the store, not in any log line.
    const stored = JSON.stringify([[...h.state.leases.values()], h.state.events, lease]);
    expect(stored).not.toContain(PASSWORD);
    expect(h.lines.length).toBeGreaterThan(2);
    expect(h.lines.join('')).not.toContain(PASSWORD);
    expect(h.lines.join('')).toContain('credential checked out');
    await h.broker.stop(1000);
  });

  it('returns key material for ssh-key accounts and clamps the duration to the account maximum', async () => {
    const h = brokerHarness();
    const offered = (await h.broker.handle('credentials.list', ctx(), {}, h.signal)).credentials;
    const root = offered.find((c) => c.username === 'root')!;
    const { credential } = await h.broker.handle('credentials.get', ctx(), { credentialId: root.id }, h.signal);
    expect(credential.privateKey).toBe(SSH_KEY);
    expect(credential.passphrase).toBe('pp-secret-phrase');
    expect(credential.password).toBeUndefined();

    const db = ctx({ endpoint: { hostname: 'db01' }, jumpItem: { jumpGroup: { name: 'Databases' } } });
    const sa = (await h.broker.handle('credentials.list', db, {}, h.signal)).credentials[0]!;
    await h.broker.handle('credentials.get', db, { credentialId: sa.id }, h.signal);
    expect(h.vault.openRequests().map((r) => r.durationMinutes)).toEqual([30, 10]);
    expect(h.lines.join('')).not.toContain('pp-secret-phrase');
    expect(h.lines.join('')).not.toContain('b3BlbnNzaC1rZXktdjEAAAAA');
  });

  it('refuses a forged, expired, foreign or wrong-endpoint id with forbidden, and audits it', async () => {
    const h = brokerHarness();
    const id = (await h.broker.handle('credentials.list', ctx(), {}, h.signal)).credentials[0]!.id;
    const mallory = ctx({ user: { username: 'CORP\\mallory', securityProvider: { id: 3, name: 'Corp AD' } } });
    const cases = [
      ['forged', ctx(), id.slice(0, -4) + 'AAAA'],
      ['other user', mallory, id],
      ['other endpoint', ctx({ endpoint: { hostname: 'db01' } }), id],
    ] as const;
    for (const [, c, cid] of cases) {
      const e = await refusal(h.broker.handle('credentials.get', c, { credentialId: cid }, h.signal));
      expect(e.code).toBe('credential.id_invalid');
      expect(toWireError(e).code).toBe('forbidden');
    }
    await h.clock.advance(300_000);
    const expired = await refusal(h.broker.handle('credentials.get', ctx(), { credentialId: id }, h.signal));
    expect(toWireError(expired).code).toBe('forbidden');
    expect(h.vault.requests.size).toBe(0);
    const events = await h.state.listCredentialEvents({});
    expect(events.map((e) => [e.consoleUser, e.outcome, e.errorCode])).toEqual([
      ['CORP\\jdoe', 'denied', 'credential.id_invalid'],
      ['CORP\\mallory', 'denied', 'credential.id_invalid'],
      ['CORP\\jdoe', 'denied', 'credential.id_invalid'],
      ['CORP\\jdoe', 'denied', 'credential.id_invalid'],
    ]);
  });

  it('enforces release policy before the vault is asked; the refusal names the rule', async () => {
    const h = brokerHarness();
    const prod = (key?: string) =>
      ctx({
        jumpItem: { id: 1, name: 'web01 prod', jumpGroup: { name: 'Production' } },
        session: { lsid: 'p1', ...(key && { externalKey: key }) },
      });
    const id = (await h.broker.handle('credentials.list', prod(), {}, h.signal)).credentials[0]!.id;
    const e = await refusal(h.broker.handle('credentials.get', prod(), { credentialId: id }, h.signal));
    expect(toWireError(e)).toEqual({
      code: 'forbidden',
      message: 'Release refused by policy "production-needs-ticket": an External Key matching ^CHG-\\d+$ is required',
      retryable: false,
    });
    expect(e.code).toBe('policy.denied');
    expect(h.vault.requests.size).toBe(0);
    expect((await h.state.listCredentialEvents({ lsid: 'p1' }))[0]).toMatchObject({
      outcome: 'denied',
      errorCode: 'policy.denied',
      systemName: 'web01',
      accountName: 'Administrator',
    });
    const ok = await h.broker.handle('credentials.get', prod('CHG-42'), { credentialId: id }, h.signal);
    expect(ok.credential.password).toBe(PASSWORD);
  });

  it('audits vault failures and surfaces approval_pending as retryable', async () => {
    const h = brokerHarness();
    const id = (await h.broker.handle('credentials.list', ctx(), {}, h.signal)).credentials[0]!.id;
    h.vault.failNext('checkout', new ServiceError('vault.approval_pending', 'The release request waits for approval'));
    const e = await refusal(h.broker.handle('credentials.get', ctx(), { credentialId: id }, h.signal));
    expect(toWireError(e)).toEqual({
      code: 'approval_pending',
      message: 'The release request waits for approval',
      retryable: true,
    });
    expect((await h.state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'denied',
      errorCode: 'vault.approval_pending',
      vaultUser: 'jdoe@corp.example.com',
    });
  });

  it('checks a checkout straight back in when the deadline passed or the lease cannot be stored', async () => {
    const h = brokerHarness();
    const id = (await h.broker.handle('credentials.list', ctx(), {}, h.signal)).credentials[0]!.id;
    const late = new AbortController();
    h.vault.checkout = (
      (orig) =>
      async (...args: Parameters<typeof orig>) => {
        const r = await orig(...args);
        late.abort();
        return r;
      }
    )(h.vault.checkout.bind(h.vault));
    const e = await refusal(h.broker.handle('credentials.get', ctx(), { credentialId: id }, late.signal));
    expect(e.code).toBe('service.timeout');
    expect(h.vault.openRequests()).toEqual([]);
    expect(h.state.leases.size).toBe(0);
    expect((await h.state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'failed',
      errorCode: 'service.timeout',
      vaultRequestId: '1000',
    });

    const h2 = brokerHarness();
    const id2 = (await h2.broker.handle('credentials.list', ctx(), {}, h2.signal)).credentials[0]!.id;
    h2.state.confirmLease = async () => {
      throw new ServiceError('store.unavailable', 'database down');
    };
    const e2 = await refusal(h2.broker.handle('credentials.get', ctx(), { credentialId: id2 }, h2.signal));
    expect(e2.code).toBe('store.unavailable');
    expect(h2.vault.requests.size).toBe(1);
    expect(h2.vault.openRequests()).toEqual([]);
    expect(h2.state.leases.size).toBe(0);
    // The intent's audit row is closed as failed, not left requested.
    expect((await h2.state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'failed',
      errorCode: 'store.unavailable',
      vaultRequestId: '1000',
      checkinAt: new Date(T0),
    });
    expect(await h2.metrics.metrics()).toContain('ecm_bridge_broker_checkins_total{reason="abandoned"} 1');

    // When not even the intent can be recorded, the vault is never asked.
    const h3 = brokerHarness();
    const id3 = (await h3.broker.handle('credentials.list', ctx(), {}, h3.signal)).credentials[0]!.id;
    h3.state.openLease = async () => {
      throw new ServiceError('store.unavailable', 'database down');
    };
    expect((await refusal(h3.broker.handle('credentials.get', ctx(), { credentialId: id3 }, h3.signal))).code).toBe(
      'store.unavailable',
    );
    expect(h3.vault.requests.size).toBe(0);
    expect((await h3.state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'failed',
      errorCode: 'store.unavailable',
    });
  });
});

describe('Broker: credentials.release', () => {
  it("is idempotent and refuses another user's lease", async () => {
    const h = brokerHarness();
    await h.broker.start();
    const id = (await h.broker.handle('credentials.list', ctx(), {}, h.signal)).credentials[0]!.id;
    const { credential } = await h.broker.handle('credentials.get', ctx(), { credentialId: id }, h.signal);
    const mallory = ctx({ user: { username: 'CORP\\mallory' } });
    const e = await refusal(h.broker.handle('credentials.release', mallory, { leaseId: credential.leaseId }, h.signal));
    expect(toWireError(e).code).toBe('forbidden');
    expect(h.vault.openRequests()).toHaveLength(1);

    // The same console user spelled in another case is the same user.
    const sameUser = ctx({ user: { username: ctx().user.username.toUpperCase() } });
    expect(await h.broker.handle('credentials.release', sameUser, { leaseId: credential.leaseId }, h.signal)).toEqual({
      released: true,
    });
    expect(await h.broker.handle('credentials.release', ctx(), { leaseId: credential.leaseId }, h.signal)).toEqual({
      released: true,
    });
    expect(await h.broker.handle('credentials.release', ctx(), { leaseId: 'never-existed' }, h.signal)).toEqual({
      released: true,
    });
    expect(h.vault.calls.filter((c) => c.method === 'checkin')).toHaveLength(1);
    expect(h.vault.openRequests()).toEqual([]);
    await h.broker.stop(1000);
  });

  it('releases by credential id within the same session, even after the id expired', async () => {
    const h = brokerHarness();
    const id = (await h.broker.handle('credentials.list', ctx(), {}, h.signal)).credentials[0]!.id;
    await h.broker.handle('credentials.get', ctx(), { credentialId: id }, h.signal);
    await h.clock.advance(600_000);
    expect(await h.broker.handle('credentials.release', ctx(), { credentialId: id }, h.signal)).toEqual({
      released: true,
    });
    expect(h.vault.openRequests()).toEqual([]);
    const noSession = await refusal(
      h.broker.handle('credentials.release', ctx({ session: {} }), { credentialId: id }, h.signal),
    );
    expect(noSession.code).toBe('request.bad');
    const forged = await refusal(h.broker.handle('credentials.release', ctx(), { credentialId: 'x.y' }, h.signal));
    expect(toWireError(forged).code).toBe('forbidden');
  });
});

describe('Broker: metrics', () => {
  it('counts requests by op and outcome, checkouts and active leases', async () => {
    const h = brokerHarness();
    const id = (await h.broker.handle('credentials.list', ctx(), {}, h.signal)).credentials[0]!.id;
    const { credential } = await h.broker.handle('credentials.get', ctx(), { credentialId: id }, h.signal);
    await refusal(h.broker.handle('credentials.list', ctx({ user: { username: 'nobody' } }), {}, h.signal));
    const text = await h.metrics.metrics();
    expect(text).toContain('ecm_bridge_broker_requests_total{op="credentials.list",outcome="ok"} 1');
    expect(text).toContain('ecm_bridge_broker_requests_total{op="credentials.list",outcome="mapping.unmapped"} 1');
    expect(text).toContain('ecm_bridge_broker_checkouts_total{outcome="checked_out"} 1');
    expect(text).toContain('ecm_bridge_broker_active_leases 1');
    await h.broker.handle('credentials.release', ctx(), { leaseId: credential.leaseId }, h.signal);
    const after = await h.metrics.metrics();
    expect(after).toContain('ecm_bridge_broker_active_leases 0');
    expect(after).toContain('ecm_bridge_broker_checkins_total{reason="release"} 1');
    expect(after).not.toContain(PASSWORD);
  });
});
