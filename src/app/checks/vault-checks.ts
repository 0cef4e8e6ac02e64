import { toServiceError, type ServiceError } from '../../platform/errors.js';
import { describeFailure } from '../../platform/health.js';
import { proxyFix } from './proxy-fix.js';
import type { VaultConfig } from '../../vault/vault-config.js';
import type { Check } from './check.js';
import type { Runtime } from '../runtime.js';
import { createVault } from '../units/vault-unit.js';

/**
 * `ecm-bridge check` for the vault: signs in (as `vault.probeUser` with an API key, as the
 * application user with OAuth), makes one lookup, and signs out again.
 */
export function vaultChecks(vc: VaultConfig | undefined, rt: Runtime): Check[] {
  if (!vc) return [];
  return [
    {
      component: 'vault',
      name: `passwordsafe ${new URL(vc.url).host}`,
      async run(signal) {
        const vault = createVault(vc, { log: rt.log, metrics: rt.metrics, clock: rt.clock });
        try {
          const failure = await vault.health(undefined, signal);
          const who =
            vc.auth.method === 'oauth' ? `OAuth client ${vc.auth.clientId}` : `runas ${vc.probeUser ?? '(none)'}`;
          return failure
            ? {
                ok: false,
                detail: describeFailure(failure),
                fix: fixFor(failure, vc.auth.method),
                cause: `vault:${failure.code}`,
              }
            : { ok: true, detail: `signed in (${who}) and listed workgroups` };
        } finally {
          await vault.close();
        }
      },
    },
    {
      component: 'vault',
      name: 'asset search',
      async run(signal) {
        if (vc.auth.method === 'apikey' && !vc.probeUser)
          return {
            ok: false,
            detail: 'needs vault.probeUser to search assets as',
            cause: 'vault:config.invalid',
            fix: 'set vault.probeUser',
          };
        const vault = createVault(vc, { log: rt.log, metrics: rt.metrics, clock: rt.clock });
        try {
          const notice = await vault.assetsProbe(undefined, signal);
          return notice
            ? {
                ok: true,
                warning: true,
                detail: notice,
                fix: 'in BeyondInsight, give the groups of the API registration the feature permission "Asset Management: read"',
              }
            : { ok: true, detail: 'Assets/Search allowed (endpoints known only by IP are found)' };
        } catch (e) {
          // The sign-in line above names a vault that cannot be reached or signed into.
          const err = toServiceError(e, 'vault.health');
          return {
            ok: false,
            detail: describeFailure(err),
            fix: fixFor(err, vc.auth.method),
            cause: `vault:${err.code}`,
          };
        } finally {
          await vault.close();
        }
      },
    },
  ];
}

function fixFor(failure: ServiceError, method: 'apikey' | 'oauth'): string {
  switch (failure.code) {
    case 'config.invalid':
      return failure.details?.path === 'vault.probeUser'
        ? 'set vault.probeUser to a Password Safe user in a group of the API registration (no grants needed)'
        : 'fix the vault section of the configuration';
    case 'vault.auth_failed':
      return method === 'oauth'
        ? 'check vault.auth.clientId/clientSecret and that the OAuth registration is enabled'
        : "check vault.auth.apiKey, that vault.probeUser is in a group of the API registration, and the registration's allowed source addresses";
    case 'vault.tls':
      return 'add the CA that issued the Password Safe certificate to vault.caFile';
    case 'config.ca_unreadable':
      return 'point vault.caFile at a readable PEM file with the issuing CA certificate';
    case 'proxy.refused':
    case 'proxy.auth_failed':
    case 'proxy.unreachable':
    case 'proxy.unresolvable':
      return proxyFix(failure.code, 'vault.proxy');
    default:
      return 'check vault.url, DNS and the network path to Password Safe';
  }
}
