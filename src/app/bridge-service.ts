import type { Config } from './config-schema.js';
import { Counter, Gauge, metric } from '../platform/metrics.js';
import { UnitSet } from '../platform/units.js';
import { serviceUnits, type Runtime } from './service-units.js';
import { BRIDGE_VERSION } from '../platform/version.js';

/**
 * The long-running bridge: units built from the config, reloadable in place. Only what changed
 * between two configs is restarted.
 */
export class BridgeService {
  readonly #units: UnitSet;
  #config: Config;

  constructor(
    config: Config,
    private readonly rt: Runtime,
    graceMs: number,
  ) {
    this.#config = config;
    this.#units = new UnitSet(rt.log, graceMs);
  }

  get config(): Config {
    return this.#config;
  }

  /** A running unit's component, by key (tests and admin routes). */
  unit<T>(key: string): T {
    return this.#units.get(key as never) as T;
  }

  async start(): Promise<void> {
    metric(
      this.rt.metrics,
      'ecm_bridge_build_info',
      () =>
        new Gauge({
          name: 'ecm_bridge_build_info',
          help: 'Always 1; labels carry the version and Node.js runtime',
          labelNames: ['version', 'node'],
          registers: [this.rt.metrics],
        }),
    ).set({ version: BRIDGE_VERSION, node: process.versions.node }, 1);
    await this.#units.apply(serviceUnits(this.#config, this.rt));
  }

  /** Applies a new, already validated config. */
  async reload(next: Config): Promise<{ started: string[]; replaced: string[]; stopped: string[]; kept: string[] }> {
    this.rt.log.level = next.log.level;
    const result = await this.#units.apply(serviceUnits(next, this.rt));
    this.#config = next;
    this.reloads.inc({ outcome: 'applied' });
    this.rt.log.info(result, 'configuration reloaded');
    return result;
  }

  /** Counts a reload that was refused because the new file is invalid. */
  rejectReload(): void {
    this.reloads.inc({ outcome: 'rejected' });
  }

  private get reloads(): Counter<'outcome'> {
    return metric(
      this.rt.metrics,
      'ecm_bridge_config_reloads_total',
      () =>
        new Counter({
          name: 'ecm_bridge_config_reloads_total',
          help: 'SIGHUP configuration reloads by outcome (applied, rejected)',
          labelNames: ['outcome'],
          registers: [this.rt.metrics],
        }),
    );
  }

  async stop(): Promise<void> {
    await this.#units.stopAll();
  }
}
