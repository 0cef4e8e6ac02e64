import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestContext } from '../../../src/protocol/ecm-protocol.js';
import { brokerSettings } from '../../../src/app/units/broker-unit.js';
import { createBroker } from '../../../src/broker/create-broker.js';
import { wireBroker } from '../../unit/broker/broker-fixture.js';
import { NO_JUMPOINT_COMMENT } from '../../../src/broker/jump-search.js';
import { systemClock } from '../../../src/platform/clock.js';
import { loadConfigFile } from '../../../src/app/config-schema.js';
import { ServiceError } from '../../../src/platform/errors.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { MemoryStateStore } from '../../../src/store/memory/store.js';
import { createVault } from '../../../src/app/units/vault-unit.js';
import { startPsForBroker } from './ps-broker-harness.js';
import { toWireError } from '../../../src/appliance/channel/wire-errors.js';

const ctx = (over: Partial<RequestContext> = {}): RequestContext => ({
  user: {
    id: 42,
    username: 'CORP\\jdoe',
    displayName: 'Jane Doe',
    securityProvider: { id: 3, name: 'Corp AD', kind: 'ldap' },
  },
  endpoint: { hostname: 'WEB01', fqdn: 'web01.corp.example.com', ip: '10.0.4.17:3389' },
  jumpItem: { id: 9001, name: 'web01 RDP', type: 'rdp', networkId: 'CORP', jumpGroup: { id: 7, name: 'Servers' } },
  session: { lsid: 'e2e-lsid-1', externalKey: 'CHG-1234' },
  ...over,
});

// The state store is the in-memory one (held to the same contract as PGlite by the store's
// contract suite); PGlite itself is exercised by lease-crash-recovery.test.ts.
describe('broker over the real Password Safe adapter and simulator', () => {
  let ps: Awaited<ReturnType<typeof startPsForBroker>>;
  const state = new MemoryStateStore();
  let broker: ReturnType<typeof wireBroker>;
  let vault: ReturnType<typeof createVault>;
  const lines: string[] = [];
  const signal = new AbortController().signal;

  beforeAll(async () => {
    ps = await startPsForBroker();
    const config = loadConfigFile(ps.configFile, { env: ps.env });
    const log = createLogger(
      { level: 'trace' },
      new Writable({
        write(c, _e, done) {
          lines.push(String(c));
          done();
        },
      }),
    );
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    vault = createVault(config.vault!, { log, metrics, clock: systemClock });
    broker = wireBroker(
      createBroker(brokerSettings(config)!, { vault, state, log, metrics, clock: systemClock, instanceId: 'e2e' }),
    );
    await broker.start();
  });
  afterAll(async () => {
    await broker?.stop(1000);
    await vault?.close();
    await ps?.close();
  });

  it('list -> get -> release: the vault request is released and one audit row tells the whole story', async () => {
    const password = ps.sim.currentPassword('web01', 'Administrator');
    const { credentials } = await broker.handle('credentials.list', ctx(), { purpose: 'login' }, signal);
    expect(credentials.map((c) => c.displayName)).toEqual([
      'Administrator (web01)',
      'helpdesk-local (web01)',
      'CORP\\svc-web (domain account)',
    ]);
    const { credential } = await broker.handle('credentials.get', ctx(), { credentialId: credentials[0]!.id }, signal);
    expect(credential).toMatchObject({ username: 'Administrator', password });
    const req = ps.sim.requests().find((r) => r.status === 'approved')!;
    expect(req.reason).toBe('ecm-bridge: CORP\\jdoe session e2e-lsid-1 ticket CHG-1234');

    expect(await broker.handle('credentials.release', ctx(), { leaseId: credential.leaseId }, signal)).toEqual({
      released: true,
    });
    expect(req.status).toBe('released');
    expect(await broker.handle('credentials.release', ctx(), { leaseId: credential.leaseId }, signal)).toEqual({
      released: true,
    });

    const [event] = await state.listCredentialEvents({ lsid: 'e2e-lsid-1' });
    expect(event).toEqual({
      id: expect.any(Number),
      site: 'default',
      lsid: 'e2e-lsid-1',
      jumpItemId: 9001,
      jumpItemName: 'web01 RDP',
      consoleUser: 'CORP\\jdoe',
      vaultUser: 'jdoe@corp.example.com',
      vaultRequestId: String(req.id),
      systemName: 'web01',
      accountName: 'Administrator',
      outcome: 'checked_in',
      errorCode: null,
      checkoutAt: expect.any(Date),
      checkinAt: expect.any(Date),
      checkinBy: expect.any(String),
      checkinReason: 'release',
    });
    expect(event!.checkinAt!.getTime()).toBeGreaterThanOrEqual(event!.checkoutAt!.getTime());
    expect(JSON.stringify(event)).not.toContain(password);
    // Trace-level logs of the broker and the adapter: never the secret.
    expect(lines.join('')).toContain('credential checked out');
    expect(lines.join('')).toContain('lease checked in');
    expect(lines.join('')).not.toContain(password);
    // One check-in, one line at info (the adapter's own is at debug).
    const checkins = lines
      .map((l) => JSON.parse(l) as { level: string; msg: string })
      .filter((l) => l.level === 'info' && /checked in/.test(l.msg));
    expect(checkins.map((l) => l.msg)).toEqual(['lease checked in']);
  });

  it('logs one line per checkout, and at debug the vault user and the target asked about (never the secret)', async () => {
    const from = lines.length;
    const password = ps.sim.currentPassword('web01', 'helpdesk-local');
    const c = ctx({ session: { lsid: 'e2e-lsid-log', externalKey: 'CHG-1' } });
    const { credentials } = await broker.handle('credentials.list', c, { purpose: 'login' }, signal);
    const helpdesk = credentials.find((x) => x.username === 'helpdesk-local')!;
    const { credential } = await broker.handle('credentials.get', c, { credentialId: helpdesk.id }, signal);
    await broker.handle('credentials.release', c, { leaseId: credential.leaseId }, signal);
    const logged = lines.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.filter((l) => l.level === 'info' && /checked out/.test(String(l.msg)))).toEqual([
      expect.objectContaining({
        msg: 'credential checked out',
        vaultUser: 'jdoe@corp.example.com',
        account: 'helpdesk-local',
      }),
    ]);
    const debug = logged.filter((l) => l.level === 'debug' && String(l.msg).startsWith('credentials.'));
    expect(debug).toEqual([
      expect.objectContaining({
        msg: 'credentials.list: asking the vault',
        user: 'CORP\\jdoe',
        vaultUser: 'jdoe@corp.example.com',
        names: ['web01', 'web01.corp.example.com'],
        ips: ['10.0.4.17'],
      }),
      expect.objectContaining({
        msg: 'credentials.get: asking the vault for a release',
        vaultUser: 'jdoe@corp.example.com',
        system: 'web01',
        account: 'helpdesk-local',
        ips: ['10.0.4.17'],
      }),
    ]);
    expect(lines.slice(from).join('')).not.toContain(password);
  });

  it('an endpoint known only by its IP still gets the domain accounts linked to the system at that IP', async () => {
    const searches = ps.sim.calls('POST Assets/Search');
    const ipOnly = ctx({ endpoint: { ip: '10.0.4.17' }, session: { lsid: 'e2e-lsid-ip' } });
    const { credentials } = await broker.handle('credentials.list', ipOnly, { purpose: 'login' }, signal);
    expect(credentials.map((c) => c.displayName)).toEqual([
      'Administrator (web01)',
      'helpdesk-local (web01)',
      'CORP\\svc-web (domain account)',
    ]);
    expect(ps.sim.calls('POST Assets/Search')).toBe(searches + 1);
  });

  it('an approval-pending account answers approval_pending and is audited', async () => {
    const c = ctx({ endpoint: { hostname: 'app02', fqdn: 'app02.dmz.example.com' }, session: { lsid: 'e2e-lsid-2' } });
    const admin = (await broker.handle('credentials.list', c, {}, signal)).credentials.find(
      (x) => x.username === 'Administrator',
    )!;
    const e = await broker
      .handle('credentials.get', c, { credentialId: admin.id }, signal)
      .catch((x: ServiceError) => x);
    expect(toWireError(e as ServiceError)).toMatchObject({ code: 'approval_pending', retryable: true });
    expect((await state.listCredentialEvents({ lsid: 'e2e-lsid-2' }))[0]).toMatchObject({
      outcome: 'denied',
      errorCode: 'vault.approval_pending',
    });
  });

  it('jump.search returns RDP and SSH systems with network id and the Jumpoint comment', async () => {
    const { items } = await broker.handle('jump.search', ctx(), { query: '0', limit: 10 }, signal);
    expect(items.map((i) => [i.name, i.method, i.networkId, i.comment])).toEqual(
      expect.arrayContaining([
        ['web01', 'rdp', 'CORP', undefined],
        ['db01', 'ssh', 'CORP', undefined],
        ['app02', 'rdp', 'DMZ', NO_JUMPOINT_COMMENT],
      ]),
    );
    expect(items.find((i) => i.name === 'corp.example.com')).toBeUndefined();
  });
});
