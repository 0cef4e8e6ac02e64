import type { Config } from './platform/config/schema.js';
import { UnitSet } from './platform/units.js';
import { serviceUnits, type Runtime } from './wiring.js';

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
    await this.#units.apply(serviceUnits(this.#config, this.rt));
  }

  /** Applies a new, already validated config. */
  async reload(next: Config): Promise<{ started: string[]; replaced: string[]; stopped: string[]; kept: string[] }> {
    this.rt.log.level = next.log.level;
    const result = await this.#units.apply(serviceUnits(next, this.rt));
    this.#config = next;
    this.rt.log.info(result, 'configuration reloaded');
    return result;
  }

  async stop(): Promise<void> {
    await this.#units.stopAll();
  }
}
