import { Gauge, metric, type Registry } from './metrics.js';
import type { Readiness } from './readiness.js';

/**
 * /readyz as metrics, read at scrape time: `ecm_bridge_ready` (what /readyz answers) and
 * `ecm_bridge_component_ready` per component, with `critical` saying whether it decides readiness.
 * A non-critical component (reporting) that is not ready shows here while /readyz stays 200.
 */
export function exportReadiness(registry: Registry, readiness: Readiness): void {
  metric(
    registry,
    'ecm_bridge_ready',
    () =>
      new Gauge({
        name: 'ecm_bridge_ready',
        help: '1 when /readyz answers 200 (every critical component ready)',
        registers: [registry],
        async collect() {
          this.set((await readiness.report()).ready ? 1 : 0);
        },
      }),
  );
  metric(
    registry,
    'ecm_bridge_component_ready',
    () =>
      new Gauge({
        name: 'ecm_bridge_component_ready',
        help: '1 when the component is ready; critical="true" components decide /readyz',
        labelNames: ['component', 'critical'] as const,
        registers: [registry],
        async collect() {
          const report = await readiness.report();
          this.reset();
          for (const [component, s] of Object.entries(report.components))
            this.set({ component, critical: String(s.critical) }, s.ready ? 1 : 0);
        },
      }),
  );
}
