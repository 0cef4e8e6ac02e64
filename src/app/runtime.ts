import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../platform/clock.js';
import { createMetricsRegistry } from '../platform/metrics.js';
import { Readiness } from '../platform/readiness.js';

/** What every unit and check shares within one process. */
export interface Runtime {
  log: Logger;
  metrics: Registry;
  readiness: Readiness;
  clock: Clock;
  /** Stable for the process: ECM hello instanceId, lease owner. */
  instanceId: string;
}

/** The runtime of a real process (serve, demo, check): system clock, fresh registry and instance id. */
export function createRuntime(log: Logger, overrides: Partial<Omit<Runtime, 'log'>> = {}): Runtime {
  return {
    log,
    metrics: overrides.metrics ?? createMetricsRegistry(),
    readiness: overrides.readiness ?? new Readiness(),
    clock: overrides.clock ?? systemClock,
    instanceId: overrides.instanceId ?? randomUUID(),
  };
}
