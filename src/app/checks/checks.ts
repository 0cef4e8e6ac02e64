import type { Check } from './check.js';
import type { Config } from '../config-schema.js';
import type { Runtime } from '../runtime.js';
import { reportingChecks } from '../units/reporting-unit.js';
import { siteChecks } from './site-checks.js';
import { storeCheck } from './store-check.js';
import { vaultChecks } from './vault-checks.js';

/** Everything `ecm-bridge check` verifies for this configuration, in display order. */
export function configChecks(config: Config, rt: Runtime): Check[] {
  return [
    {
      component: 'config',
      name: 'configuration',
      run: async () => ({
        ok: true,
        detail: `${config.sites.length} site(s), vault ${config.vault?.kind ?? 'none'}, store ${config.store.kind}`,
      }),
    },
    storeCheck(config.store, rt),
    ...vaultChecks(config.vault, rt),
    ...siteChecks(config.sites, rt),
    ...reportingChecks(config, rt),
  ];
}
