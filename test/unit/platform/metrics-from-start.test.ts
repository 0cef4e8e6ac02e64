import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { reportMetrics } from '../../../src/reporting/report-metrics.js';
import { vaultMetrics } from '../../../src/vault/passwordsafe/vault-metrics.js';

/** Dashboards' rate() and absent() alerts need each documented series before its first event. */
describe('documented metric series exist from start, at 0', () => {
  it('vault: requests of the everyday calls and every discovery cache result', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    vaultMetrics(registry);
    const text = await registry.metrics();
    for (const op of ['sign_in', 'list_accounts', 'create_request', 'get_credential', 'checkin'])
      expect(text).toContain(`ecm_bridge_vault_requests_total{op="${op}",outcome="ok"} 0`);
    for (const result of ['hit', 'miss', 'stale'])
      expect(text).toContain(`ecm_bridge_vault_discovery_cache_total{result="${result}"} 0`);
  });

  it('reporting: failback re-reads per site, with the other per-site series', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    reportMetrics(registry).site('corp-pra');
    const text = await registry.metrics();
    expect(text).toContain('ecm_bridge_reporting_failback_rereads_total{site="corp-pra"} 0');
    expect(text).toContain('ecm_bridge_reporting_sessions_vanished_total{site="corp-pra"} 0');
  });
});
