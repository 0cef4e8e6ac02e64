import { randomUUID } from 'node:crypto';
import type { ExplainInput, ExplainReport } from '../../broker/broker.js';
import { createBroker } from '../../broker/create-broker.js';
import { ServiceError } from '../../platform/errors.js';
import { silentLogger } from '../../platform/logger.js';
import { createMetricsRegistry } from '../../platform/metrics.js';
import { MemoryStateStore } from '../../store/memory/store.js';
import { brokerSettings } from '../units/broker-unit.js';
import type { Config } from '../config-schema.js';
import { createVault } from '../units/vault-unit.js';
import { systemClock } from '../../platform/clock.js';

export interface Explainer {
  explain(input: ExplainInput, signal: AbortSignal): Promise<ExplainReport>;
  /** What the vault answered that works but needs its administrator (e.g. a missing read permission). */
  notices(): string[];
  close(): Promise<void>;
}

/**
 * The broker of `config` against the real vault, for "Test Settings": leases live in a scratch
 * in-memory store, nothing outlives it, and the appliance is never contacted.
 */
export function createExplainer(config: Config): Explainer {
  const settings = brokerSettings(config);
  if (!settings || !config.vault)
    throw new ServiceError('config.invalid', 'test-settings needs the `vault` and `broker` sections', {
      op: 'test-settings',
    });
  const log = silentLogger();
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const vault = createVault(config.vault, { log, metrics, clock: systemClock });
  const broker = createBroker(settings, {
    vault,
    state: new MemoryStateStore(),
    log,
    metrics,
    clock: systemClock,
    instanceId: `test-settings-${randomUUID()}`,
  });
  return {
    explain: (input, signal) => broker.explain(input, signal),
    notices: () => vault.notices,
    close: () => vault.close(),
  };
}
