/**
 * The one place the status page reads /readyz entries and metrics. Their names and shapes are
 * owned elsewhere (the units register readiness; the operators issue renames metrics and lets
 * reporting problems show without failing readiness), so a rename is a change here only.
 */
import type { Registry } from 'prom-client';
import type { HealthEntry } from '../../http/status-view.js';
import type { ComponentStatus, Readiness } from '../../platform/readiness.js';

export interface ReadinessSnapshot {
  ready: boolean;
  components: Record<string, ComponentStatus>;
}

export function readinessSnapshot(readiness: Readiness): Promise<ReadinessSnapshot> {
  return readiness.report();
}

/** The readiness entry of a site's ECM channel. */
export function siteReadiness(s: ReadinessSnapshot, site: string): ComponentStatus | undefined {
  return s.components[`site:${site}`];
}

/** Every component but the per-site channels (shown with their site): vault, store, reporting, config, ... */
export function componentHealth(s: ReadinessSnapshot): HealthEntry[] {
  return Object.entries(s.components)
    .filter(([name]) => !name.startsWith('site:'))
    .map(([component, c]) => ({ component, ready: c.ready, reason: c.reason ?? (c.ready ? 'ok' : 'not ready') }));
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
