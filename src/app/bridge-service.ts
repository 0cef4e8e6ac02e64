import { ConfigError, formatProblem } from '../platform/config/loader.js';
import { isServiceError } from '../platform/errors.js';
import type { Component } from '../platform/lifecycle.js';
import { Counter, Gauge, metric } from '../platform/metrics.js';
import { exportReadiness } from '../platform/readiness-metrics.js';
import { UnitSet, type ApplyResult, type UnitKey } from '../platform/units.js';
import { BRIDGE_VERSION } from '../platform/version.js';
import type { Config } from './config-schema.js';
import type { EarlyStoreOpen } from './early-store.js';
import type { Runtime } from './runtime.js';
import { serviceUnits } from './units/service-units.js';

/** What a SIGHUP reload did; `error` is why it was rejected or failed. */
export type ReloadOutcome =
  | { outcome: 'applied'; result: ApplyResult }
  | { outcome: 'rejected'; error: unknown }
  | { outcome: 'failed'; error: unknown };

/**
 * The long-running bridge: units built from the config, reloadable in place. Only what changed
 * between two configs is restarted; a reload whose new units fail to start restores the previous
 * ones and says so on /readyz (`config`), so a bad SIGHUP never leaves the service half-stopped.
 */
export class BridgeService {
  readonly #units: UnitSet;
  #config: Config;
  #earlyStore: EarlyStoreOpen | undefined;

  /** `earlyStore`: `serve`'s store open begun while the config loaded, for the first start's store unit. */
  constructor(
    config: Config,
    private readonly rt: Runtime,
    graceMs: number,
    earlyStore?: EarlyStoreOpen,
  ) {
    this.#config = config;
    this.#units = new UnitSet(rt.log, graceMs, rt.readiness);
    this.#earlyStore = earlyStore;
  }

  get config(): Config {
    return this.#config;
  }

  /** A running unit's component (tests and admin routes). */
  unit<C extends Component>(key: UnitKey<C>): C {
    return this.#units.get(key);
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
    void this.reloads; // every outcome's series exists from the start
    exportReadiness(this.rt.metrics, this.rt.readiness);
    const earlyStore = this.#earlyStore;
    this.#earlyStore = undefined;
    await this.#units.apply(serviceUnits(this.#config, this.rt, () => this.#config, earlyStore));
  }

  /**
   * A SIGHUP reload: reads the configuration with `load` and applies it. Exactly one outcome is
   * counted per call, here and nowhere else: `rejected` when `load` throws (the file cannot be
   * used; no unit is touched), `failed` when a unit of the new configuration fails to start (the
   * previous units are restored), `applied` otherwise. A rejected or failed reload is named on
   * /readyz (`config`, ready: the previous configuration serves on) until one is applied, so the
   * operator who sent SIGHUP sees it without reading the log. Never throws.
   */
  async reload(load: () => Config): Promise<ReloadOutcome> {
    const outcome = await this.#reload(load);
    this.reloads.inc({ outcome: outcome.outcome });
    return outcome;
  }

  async #reload(load: () => Config): Promise<ReloadOutcome> {
    let next: Config;
    try {
      next = load();
    } catch (e) {
      const why =
        e instanceof ConfigError && e.problems[0]
          ? `${e.problems.length} problem(s), first ${formatProblem(e.file, e.problems[0])}`
          : isServiceError(e)
            ? e.message
            : 'the file could not be read (see the log)';
      this.#nameOnReadyz(`was rejected and the previous configuration serves on: ${why}`);
      return { outcome: 'rejected', error: e };
    }
    const previousLevel = this.rt.log.level;
    this.rt.log.level = next.log.level;
    try {
      const result = await this.#units.apply(serviceUnits(next, this.rt, () => this.#config));
      this.#config = next;
      this.rt.readiness.unregister('config');
      this.rt.log.info(result, 'configuration reloaded');
      return { outcome: 'applied', result };
    } catch (e) {
      this.rt.log.level = previousLevel;
      // The previous configuration serves on; readiness reflects the units themselves.
      this.#nameOnReadyz(`failed and was rolled back: ${(e as Error)?.message ?? String(e)}`);
      return { outcome: 'failed', error: e };
    }
  }

  #nameOnReadyz(what: string): void {
    const reason = `the reload of ${new Date(this.rt.clock.now()).toISOString()} ${what}`;
    this.rt.readiness.register('config', () => ({ ready: true, reason }));
  }

  private get reloads(): Counter<'outcome'> {
    return metric(this.rt.metrics, 'ecm_bridge_config_reloads_total', () => {
      const c = new Counter({
        name: 'ecm_bridge_config_reloads_total',
        help: 'SIGHUP configuration reloads by outcome (applied; rejected: invalid file; failed: rolled back)',
        labelNames: ['outcome'],
        registers: [this.rt.metrics],
      });
      for (const outcome of ['applied', 'rejected', 'failed']) c.inc({ outcome }, 0);
      return c;
    });
  }

  async stop(): Promise<void> {
    await this.#units.stopAll();
  }
}
