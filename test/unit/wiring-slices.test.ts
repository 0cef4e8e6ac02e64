import { describe, expect, it } from 'vitest';
import { siteUnits } from '../../src/app/units/site-units.js';
import { systemClock } from '../../src/platform/clock.js';
import { configEqual } from '../../src/platform/config/config-equal.js';
import { parseConfigText } from '../../src/app/config-schema.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { Readiness } from '../../src/platform/readiness.js';
import { reportingUnit } from '../../src/app/units/reporting-unit.js';

const rt = {
  log: silentLogger(),
  metrics: createMetricsRegistry({ defaultMetrics: false }),
  readiness: new Readiness(),
  clock: systemClock,
  instanceId: 't',
};
const config = (ecmSecret: string, reportingSecret: string, atlas = '') =>
  parseConfigText(
    `
allowLiteralSecrets: true
sites:
  - { name: a, url: "https://a.example.com", ecm: { clientId: e, clientSecret: ${ecmSecret} }, reporting: { clientId: r, clientSecret: ${reportingSecret} }${atlas} }
vault: { kind: passwordsafe, url: "https://v.example.com/BeyondTrust/api/public/v3", auth: { method: apikey, apiKey: k } }
broker: { credentialIdKey: 0123456789abcdef0123456789abcdef }
`,
    'slices.yaml',
  );

describe('reload slices', () => {
  it('rotating the reporting secret leaves the ECM channel unit unchanged, and the reverse', () => {
    const before = config('ecm-1', 'rep-1');
    const repRotated = config('ecm-1', 'rep-2');
    const ecmRotated = config('ecm-2', 'rep-1');
    const site = (c: typeof before) => siteUnits(c.sites, rt)[0]!.slice;
    const reporting = (c: typeof before) => reportingUnit(c, rt).slice;
    expect(configEqual(site(before), site(repRotated))).toBe(true);
    expect(configEqual(site(before), site(ecmRotated))).toBe(false);
    expect(configEqual(reporting(before), reporting(ecmRotated))).toBe(true);
    expect(configEqual(reporting(before), reporting(repRotated))).toBe(false);
  });

  it('editing the Atlas traffic nodes rebuilds reporting only, never the ECM channel', () => {
    const before = config('ecm-1', 'rep-1');
    const after = config('ecm-1', 'rep-1', ', atlas: { trafficNodes: [tn1.a.example.com] }');
    expect(configEqual(siteUnits(before.sites, rt)[0]!.slice, siteUnits(after.sites, rt)[0]!.slice)).toBe(true);
    expect(configEqual(reportingUnit(before, rt).slice, reportingUnit(after, rt).slice)).toBe(false);
  });
});
