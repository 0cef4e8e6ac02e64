import { OAuthTokenSource } from '../appliance/token-source.js';
import type { Config } from './config-schema.js';
import { isServiceError, ServiceError } from '../platform/errors.js';
import type { UnitSpec } from '../platform/units.js';
import type { StoreComponent } from './store-unit.js';
import type { Check, Runtime } from './service-units.js';
import { createReportWorker, reportingSites } from '../reporting/create-report-worker.js';
import { createSiteReportSource, type SiteTokens } from './site-report-source.js';

/**
 * The OAuth token source of a site's reporting API account (a separate account from the ECM
 * one, so report pulls never consume the channel's tokens), on the report source's agent.
 */
export function reportingTokens(rt: Pick<Runtime, 'clock' | 'log'>): SiteTokens {
  return (site, dispatcher) => {
    if (!site.reporting)
      throw new ServiceError('config.invalid', `site ${site.name} has no reporting API account`, {
        op: 'reporting.tokens',
      });
    return new OAuthTokenSource({
      baseUrl: site.url.replace(/\/+$/, ''),
      clientId: site.reporting.clientId,
      clientSecret: site.reporting.clientSecret,
      dispatcher,
      clock: rt.clock,
      log: rt.log,
      site: site.name,
    });
  };
}

/** The `reporting` unit for serviceUnits; needs the `store` unit before it. */
export function reportingUnit(config: Config, rt: Runtime): UnitSpec {
  return {
    key: 'reporting',
    // Sites without their ECM account: rotating that secret must not restart report pulls.
    slice: { reporting: config.reporting, sites: reportingSites(config).map((s) => ({ ...s, ecm: undefined })) },
    deps: ['store'],
    create: (get) =>
      createReportWorker(config, { ...rt, store: get<StoreComponent>('store').store, tokens: reportingTokens(rt) }),
  };
}

/**
 * `ecm-bridge check`: per reporting site, one listing of the last minute with the configured
 * account, proving the token, the reporting permission and the XML all work.
 */
export function reportingChecks(config: Config, rt: Runtime): Check[] {
  if (!config.reporting.enabled) return [];
  return reportingSites(config).map((site) => ({
    component: 'reporting',
    name: `site ${site.name} Reporting API`,
    async run(signal: AbortSignal) {
      const client = createSiteReportSource(
        site,
        { ...config.reporting, retries: { ...config.reporting.retries, max: 0 } },
        { ...rt, tokens: reportingTokens(rt) },
      );
      try {
        const now = rt.clock.now();
        const listed = await client.source.listing({ by: 'end', fromMs: now - 60_000, toMs: now }, signal);
        return { ok: true, detail: `listing works (${listed.length} session(s) closed in the last minute)` };
      } catch (e) {
        return {
          ok: false,
          detail: isServiceError(e) ? `[${e.code}] ${e.message}` : 'the Reporting API call failed',
          fix: 'check sites[].reporting clientId/secret, that the API account has the reporting permission, and the network path to the site',
        };
      } finally {
        await client.close();
      }
    },
  }));
}
