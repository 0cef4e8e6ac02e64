import { isServiceError } from '../../platform/errors.js';
import { describeFailure } from '../../platform/health.js';
import { siteCause } from '../checks/site-checks.js';
import { unit, unitKey, type UnitSpec } from '../../platform/units.js';
import {
  createReportWorker,
  reportingSites,
  type ReportWorker,
  type ReportWorkerSettings,
} from '../../reporting/report-worker.js';
import type { RejectedSession } from '../../reporting/rejected-session.js';
import type { ReportingStore } from '../../reporting/report-store-port.js';
import type { Check } from '../checks/check.js';
import type { Config } from '../config-schema.js';
import type { Runtime } from '../runtime.js';
import { siteReportSources } from './site-report-source.js';
import { STORE_UNIT } from './store-unit.js';

/** The worker's slice: sites without their ECM account, so rotating that secret never restarts report pulls. */
export function reportWorkerSettings(config: Config): ReportWorkerSettings {
  return { reporting: config.reporting, sites: reportingSites(config.sites) };
}

/** A report worker on `store` with the real Reporting API clients (serve, tests, benchmarks). */
export function buildReportWorker(settings: ReportWorkerSettings, rt: Runtime, store: ReportingStore): ReportWorker {
  return createReportWorker(settings, { ...rt, store, sources: siteReportSources(rt) });
}

export const REPORTING_UNIT = unitKey<ReportWorker>('reporting');

/** The `reporting` unit; needs the `store` unit before it. */
export function reportingUnit(config: Config, rt: Runtime): UnitSpec {
  return unit({
    key: REPORTING_UNIT,
    slice: reportWorkerSettings(config),
    deps: [STORE_UNIT],
    create: (slice, units) => buildReportWorker(slice, rt, units.get(STORE_UNIT).store),
  });
}

/**
 * `ecm-bridge check`: per reporting site, one listing of the last minute with the configured
 * account, proving the token, the reporting permission and the XML all work.
 */
export function reportingChecks(config: Config, rt: Runtime): Check[] {
  if (!config.reporting.enabled) return [];
  const sources = siteReportSources(rt);
  const once = { ...config.reporting, retries: { ...config.reporting.retries, max: 0 } };
  return reportingSites(config.sites).map((site) => ({
    component: 'reporting',
    name: `site ${site.name} Reporting API`,
    async run(signal: AbortSignal) {
      const client = sources(site, once);
      try {
        const now = rt.clock.now();
        // As the worker reads it: a session element out of the API's rules is quarantined by `serve`, not a failure here.
        const refused: RejectedSession[] = [];
        const listed = await client.source.listing({ by: 'end', fromMs: now - 60_000, toMs: now }, signal, refused);
        const quarantined =
          refused.length > 0 ? `; ${refused.length} refused by validation (serve quarantines them)` : '';
        return {
          ok: true,
          detail: `listing works (${listed.length} session(s) closed in the last minute${quarantined})`,
        };
      } catch (e) {
        return {
          ok: false,
          detail: isServiceError(e) ? describeFailure(e) : 'the Reporting API call failed',
          fix: 'check sites[].reporting clientId/secret, that the API account has the reporting permission, and the network path to the site',
          ...(isServiceError(e) ? { cause: siteCause(site.name, e.code, 'reporting') } : {}),
        };
      } finally {
        await client.close();
      }
    },
  }));
}
