import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.js';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { createRuntime } from '../../../src/app/runtime.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { generateSimTls } from '../../../src/simulators/appliance/sim-tls.js';
import { configChecks } from '../../../src/app/checks/checks.js';
import {
  ECM_ACCOUNT,
  REPORTING_ACCOUNT,
  ScriptedHandler,
  startLink,
  until,
  writeCa,
  type StartedLink,
} from './harness.js';

const NO_ECM = {
  clientId: 'no-ecm',
  clientSecret: 'no-ecm-secret-789',
  permissions: { ecm: false, reporting: false, command: 'deny' as const },
};

/** A ManualClock that shows when each unfinished sleep is due, so a test can see a wait without waiting. */
class WatchedClock extends ManualClock {
  readonly #due = new Set<{ at: number }>();
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const wait = { at: this.now() + ms };
    this.#due.add(wait);
    return super.sleep(ms, signal).finally(() => this.#due.delete(wait));
  }
  pending(): number[] {
    return [...this.#due].map((w) => w.at);
  }
}

describe('missing permissions, wrong CA, and `ecm-bridge check`', () => {
  let sim: ApplianceSimulator;
  let caFile: string;
  let started: StartedLink | undefined;
  beforeEach(async () => {
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT, REPORTING_ACCOUNT, NO_ECM], heartbeatMs: 100 });
    await sim.start();
    caFile = writeCa(sim.caPem);
  });
  afterEach(async () => {
    await started?.link.stop(100);
    started = undefined;
    await sim.stop();
  });

  it('403: reports the missing permission on /readyz and retries only once per cap (no storm)', async () => {
    const clock = new WatchedClock();
    started = await startLink(sim.url, caFile, new ScriptedHandler(), {
      clock,
      account: NO_ECM,
      backoff: { baseMs: 1000, capMs: 60_000 },
    });
    await until(() => started?.link.status().state === 'blocked', 'blocked');
    const ready = (await started.readiness.report()).components['site:sim'];
    expect(ready?.ready).toBe(false);
    expect(ready?.reason).toContain(
      'API account no-ecm lacks "Endpoint Credential Manager API: Allow Access" (perm_ecm)',
    );
    expect(sim.upgrades.get(403)).toBe(1);
    // The link waits for its retry on the clock: the wait ends at the cap, and 59 s do not end it.
    const blockedAt = clock.now();
    await until(() => clock.pending().includes(blockedAt + 60_000), 'the retry wait');
    await clock.advance(59_000);
    expect(clock.pending()).toContain(blockedAt + 60_000);
    expect(sim.upgrades.get(403)).toBe(1);
    await clock.advance(1_000);
    await until(() => sim.upgrades.get(403) === 2, 'second attempt after the cap');
    await until(() => started?.link.status().state === 'blocked', 'blocked again');
    expect(sim.tokens.mintCount).toBe(1); // the token is reused, not re-minted
    expect(started.lines.join('')).toMatch(/"level":"error".*perm_ecm/);
    // The admin grants the permission: the next attempt connects.
    sim.tokens.setPermissions('no-ecm', { ecm: true });
    await clock.advance(60_000);
    await until(() => started?.link.status().state === 'connected', 'connected after the grant');
  });

  it('4403 on an open channel (permission revoked) blocks the link and names the permission', async () => {
    started = await startLink(sim.url, caFile, new ScriptedHandler());
    await until(() => started?.link.status().state === 'connected', 'connected');
    sim.setPermissions(ECM_ACCOUNT.clientId, { ecm: false });
    await until(() => started?.link.status().state === 'blocked', 'blocked');
    expect(started.link.status().reason).toContain('lacks "Endpoint Credential Manager API: Allow Access" (perm_ecm)');
    // The link may see the close before the simulator has recorded sending it.
    await until(() => sim.hub.closeCodes.get(4403) === 1, 'the appliance recorded close code 4403');
  });

  it('refuses an appliance whose certificate is not from the configured CA, saying so clearly', async () => {
    const other = await generateSimTls('someone-else');
    started = await startLink(sim.url, writeCa(other.caPem), new ScriptedHandler());
    await until(() => (started?.link.status().reason ?? '').includes('TLS'), 'TLS failure reported');
    expect(started.link.status().state).toBe('backoff');
    expect(started.link.status().reason).toMatch(
      /^site sim: TLS verification of 127\.0\.0\.1:\d+ failed \(DEPTH_ZERO_SELF_SIGNED_CERT\): the certificate is not trusted; add its CA to caFile$/,
    );
    expect(sim.tokens.mintCount).toBe(0);
    expect(sim.upgrades.size).toBe(0);
  });

  const yaml = (extra = '') => `
allowLiteralSecrets: true
sites:
  - name: sim
    url: ${sim.url}
    caFile: ${caFile}
    ecm: { clientId: ${ECM_ACCOUNT.clientId}, clientSecret: ${ECM_ACCOUNT.clientSecret} }
    reporting: { clientId: ${REPORTING_ACCOUNT.clientId}, clientSecret: ${REPORTING_ACCOUNT.clientSecret} }
${extra}
vault: { kind: passwordsafe, url: https://vault.example.com/BeyondTrust/api/public/v3, auth: { method: apikey, apiKey: k } }
broker: { credentialIdKey: 0123456789abcdef0123456789abcdef }
`;

  async function runChecks(text: string, component = 'site:sim') {
    const config = parseConfigText(text, 'test.yaml', { env: {} });
    const rt = createRuntime(silentLogger(), {
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      instanceId: 'check',
    });
    const out: Record<string, { ok: boolean; detail: string; fix?: string; cause?: string }> = {};
    for (const c of configChecks(config, rt))
      if (c.component === component) out[c.name] = await c.run(AbortSignal.timeout(5000));
    return out;
  }

  it('check: green lines for a well-configured site', async () => {
    const r = await runChecks(yaml());
    expect(Object.keys(r)).toEqual([
      'oauth ecm',
      'permissions ecm',
      'oauth reporting',
      'permissions reporting',
      'check_health',
      'ecm channel',
    ]);
    expect(Object.values(r).every((x) => x.ok)).toBe(true);
    expect(r['check_health']?.detail).toBe('access.example.com 25.1.2 failover role none');
    // As /login > Management > API Configuration shows them, not get_api_info's names.
    expect(r['permissions ecm']?.detail).toBe('ecm-client has "Endpoint Credential Manager API: Allow Access"');
  });

  it('check: names each missing permission and bad credentials, with a fix line', async () => {
    sim.tokens.setPermissions(ECM_ACCOUNT.clientId, { ecm: false, command: 'deny' });
    sim.tokens.setPermissions(REPORTING_ACCOUNT.clientId, { reporting: false });
    const r = await runChecks(yaml(`    nodes: [${sim.node}]`));
    expect(r['permissions ecm']).toMatchObject({
      ok: false,
      detail:
        'ecm-client lacks "Endpoint Credential Manager API: Allow Access" and "Command API: Read-Only (or Full Access)" (perm_ecm, perm_command)',
      fix: expect.stringContaining(
        'in /login > Management > API Configuration, edit API account ecm-client and tick "Endpoint Credential Manager API: Allow Access" and "Command API: Read-Only (or Full Access)"',
      ),
    });
    expect(r['permissions reporting']).toMatchObject({
      ok: false,
      // A failover site (nodes): the reporting account needs the Command API too (issue 24, point 2).
      detail: expect.stringContaining('(perm_reporting, perm_command)'),
    });
    expect(r['check_health']).toMatchObject({
      ok: true,
      detail: expect.stringMatching(
        /answered 200; failover role unknown: the API account lacks "Command API: Read-Only \(or Full Access\)"$/,
      ),
    });
    expect(r[`node ${sim.node}`]).toMatchObject({ ok: true });
    sim.tokens.regenerateSecret(ECM_ACCOUNT.clientId);
    const bad = await runChecks(yaml());
    expect(bad['oauth ecm']).toMatchObject({
      ok: false,
      detail: expect.stringContaining('refused the OAuth client credentials of API account ecm-client (401)'),
      fix: expect.stringContaining('sites[0].ecm.clientId'),
    });
  });

  it('check: "Enable XML API" off is one root cause naming the /login switch, not missing permissions', async () => {
    sim.setXmlApi(false);
    const r = await runChecks(yaml(`    nodes: [${sim.node}]`));
    const cause = 'site:sim:appliance.xml_api_disabled';
    expect(r['permissions ecm']).toEqual({
      ok: false,
      detail:
        'site sim: the XML API is disabled ("Enable XML API" is not ticked in /login > Management > API Configuration)',
      fix: 'in /login > Management > API Configuration, tick "Enable XML API" and save (the Command and Reporting APIs are off for every account)',
      cause,
    });
    // The reporting account and the Command API lines are consequences of the same switch.
    expect(r['permissions reporting']).toMatchObject({ ok: false, cause });
    expect(r['check_health']).toMatchObject({ ok: false, cause });
    expect(JSON.stringify(r)).not.toContain('lacks');
    // The Reporting API says the same (the reporting client tells the switch from a permission).
    const reporting = await runChecks(yaml(), 'reporting');
    expect(reporting['site sim Reporting API']).toMatchObject({
      ok: false,
      detail: expect.stringContaining('[appliance.xml_api_disabled]'),
      cause,
    });
    // OAuth and the ECM channel do not depend on the XML API.
    expect(r['oauth ecm']?.ok).toBe(true);
    expect(r['ecm channel']?.ok).toBe(true);
    sim.setXmlApi(true);
    const fixed = await runChecks(yaml());
    expect(Object.values(fixed).every((x) => x.ok)).toBe(true);
  });

  it('check: a wrong CA is a red line telling to fix caFile', async () => {
    const other = await generateSimTls('someone-else');
    caFile = writeCa(other.caPem);
    const r = await runChecks(yaml());
    expect(r['oauth ecm']).toMatchObject({
      ok: false,
      detail: expect.stringContaining('TLS verification'),
      fix: expect.stringContaining('sites[0].caFile'),
    });
  });
});
