/**
 * The one place the status page reads /readyz entries and metrics. Their names and shapes are
 * owned elsewhere (the units register readiness; the operators issue renames metrics and lets
 * reporting problems show without failing readiness), so a rename is a change here only.
 */
import type { Registry } from 'prom-client';
import type { HealthEntry } from '../../http/status-view.js';
import { describeFailure } from '../../platform/health.js';
import type { ReportedStatus, Readiness } from '../../platform/readiness.js';

export interface ReadinessSnapshot {
  ready: boolean;
  components: Record<string, ReportedStatus>;
}

export function readinessSnapshot(readiness: Readiness): Promise<ReadinessSnapshot> {
  return readiness.report();
}

/** The readiness entry of a site's ECM channel. */
export function siteReadiness(s: ReadinessSnapshot, site: string): ReportedStatus | undefined {
  return s.components[`site:${site}`];
}

/** Every component but the per-site channels (shown with their site): vault, store, reporting, config, ... */
export function componentHealth(s: ReadinessSnapshot): HealthEntry[] {
  return Object.entries(s.components)
    .filter(([name]) => !name.startsWith('site:'))
    .map(([component, c]) => ({ component, ready: c.ready, reason: healthText(c) }));
}

/** A /readyz entry as the page shows it: a failure with its code, as `check` shows one. */
function healthText(c: ReportedStatus): string {
  const reason = c.reason ?? (c.ready ? 'ok' : 'not ready');
  return c.code ? describeFailure({ code: c.code, message: reason }) : reason;
}

interface ReportingSiteDetails {
  lagSeconds: number | null;
  lastSuccessAt: string | null;
  lastError: { code: string; message: string } | null;
}

/** Per reporting site: last success and last error, from the `reporting` readiness entry's details. */
export function reportingSiteDetails(s: ReadinessSnapshot): Record<string, ReportingSiteDetails> {
  const sites = s.components.reporting?.details?.sites;
  return sites && typeof sites === 'object' ? (sites as Record<string, ReportingSiteDetails>) : {};
}

/** Reporting lag per site in seconds, as /metrics exposes it (`ecm_bridge_reporting_lag_seconds{site}`). */
export async function reportingLagSeconds(metrics: Registry): Promise<Map<string, number>> {
  const gauge = metrics.getSingleMetric('ecm_bridge_reporting_lag_seconds');
  const out = new Map<string, number>();
  if (!gauge) return out;
  for (const v of (await gauge.get()).values) {
    const site = v.labels.site;
    if (typeof site === 'string') out.set(site, v.value);
  }
  return out;
}
