import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { configChecks } from '../../../src/app/checks/checks.js';
import { VaultComponent } from '../../../src/app/units/vault-unit.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { demoSeedPath } from '../../../src/simulators/passwordsafe/estate-generator.js';
import { loadSeedFile } from '../../../src/simulators/passwordsafe/seed.js';
import { DEMO_KEY, JDOE, startHarness, type Harness } from './ps-harness.js';

/** The demo estate where no group has "Asset Management: read" (System Management read stays). */
function seedWithoutAssetRead() {
  const seed = loadSeedFile(demoSeedPath);
  return { ...seed, groups: seed.groups.map((g) => ({ ...g, assetsRead: false })) };
}

const PERMISSION = '"Asset Management: read"';

describe('Password Safe: a 403 on Assets/Search names the missing "Asset Management: read"', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(seedWithoutAssetRead());
  });
  afterAll(async () => h.close());

  const yaml = () => `
allowLiteralSecrets: true
vault:
  kind: passwordsafe
  url: ${h.sim.url}
  caFile: ${h.caFile}
  auth: { method: apikey, apiKey: ${DEMO_KEY} }
  probeUser: ecm-probe@corp.example.com
`;

  it('logs one warning per vault user and keeps a notice, instead of losing the accounts silently', async () => {
    const vault = h.vault();
    expect(vault.notices).toEqual([]);
    // By IP only: without asset search the domain-linked account of web01 is not found.
    const byIp = await vault.listAccounts(JDOE, { names: [], ips: ['10.0.4.17'] });
    expect(byIp.filter((a) => a.source === 'domain-linked')).toEqual([]);
    await vault.listAccounts(JDOE, { names: [], ips: ['10.0.4.18'] });
    const warnings = h.logs.lines.filter((l) => l.includes('Assets/Search') && /"level":(40|"warn")/.test(l));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(PERMISSION);
    expect(warnings[0]).toContain(`"vaultUser":"${JDOE}"`);
    expect(vault.notices).toEqual([expect.stringContaining(`refused Assets/Search (403) for "${JDOE}"`)]);
    expect(vault.notices[0]).toContain('endpoints known only by IP get no domain-linked accounts');
  });

  it('`check` has an asset search line that warns and names the permission', async () => {
    const rt = { log: silentLogger(), metrics: createMetricsRegistry({ defaultMetrics: false }), clock: h.clock };
    const line = configChecks(parseConfigText(yaml(), 'test.yaml'), {
      ...rt,
      readiness: new Readiness(),
      instanceId: 'c',
    }).find((c) => c.component === 'vault' && c.name === 'asset search')!;
    expect(await line.run(AbortSignal.timeout(10_000))).toMatchObject({
      ok: true,
      warning: true,
      detail: expect.stringContaining(PERMISSION),
      fix: expect.stringContaining(PERMISSION),
    });
  });

  it('the status page (vault readiness) carries the warning while the vault stays ready', async () => {
    const readiness = new Readiness();
    const config = parseConfigText(yaml(), 'test.yaml').vault!;
    const unit = new VaultComponent(config, {
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      readiness,
      clock: h.clock,
      instanceId: randomUUID(),
    });
    await unit.start();
    try {
      await unit.port.listAccounts(JDOE, { names: [], ips: ['10.0.4.17'] });
      const entry = (await readiness.report()).components.vault;
      expect(entry?.ready).toBe(true);
      expect(entry?.reason).toContain(`warning: Password Safe refused Assets/Search (403) for "${JDOE}"`);
    } finally {
      await unit.stop();
    }
  });
});

describe('Password Safe with "Asset Management: read" granted', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  it('has no notice and a green asset search line', async () => {
    const vault = h.vault();
    expect((await vault.listAccounts(JDOE, { names: [], ips: ['10.0.4.17'] })).length).toBe(3);
    expect(vault.notices).toEqual([]);
    expect(await vault.assetsProbe('ecm-probe@corp.example.com')).toBeUndefined();
  });
});
