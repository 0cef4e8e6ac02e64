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
   * Applies a new, already validated config. When a unit of it fails to start, the previous
   * configuration's units are restored, /readyz names the failure, and the error is rethrown.
   */
  async reload(next: Config): Promise<ApplyResult> {
    const previousLevel = this.rt.log.level;
    this.rt.log.level = next.log.level;
    try {
      const result = await this.#units.apply(serviceUnits(next, this.rt, () => this.#config));
      this.#config = next;
      this.rt.readiness.unregister('config');
      this.reloads.inc({ outcome: 'applied' });
      this.rt.log.info(result, 'configuration reloaded');
      return result;
    } catch (e) {
      this.rt.log.level = previousLevel;
      this.reloads.inc({ outcome: 'failed' });
      const at = new Date(this.rt.clock.now()).toISOString();
      const reason = `the reload of ${at} failed and was rolled back: ${(e as Error)?.message ?? String(e)}`;
      // The previous configuration serves on; readiness reflects the units themselves.
      this.rt.readiness.register('config', () => ({ ready: true, reason }));
      throw e;
    }
  }

  /**
   * A reload refused because the new file cannot be used (invalid, empty, unreadable, a missing
   * secret): counted, and named on /readyz (ready: the previous configuration serves on) until a
   * reload is applied, so the operator who sent SIGHUP sees it without reading the log.
   */
  rejectReload(e: unknown): void {
    this.reloads.inc({ outcome: 'rejected' });
    const at = new Date(this.rt.clock.now()).toISOString();
    const why =
      e instanceof ConfigError && e.problems[0]
        ? `${e.problems.length} problem(s), first ${formatProblem(e.file, e.problems[0])}`
        : isServiceError(e)
          ? e.message
          : 'the file could not be read (see the log)';
    const reason = `the reload of ${at} was rejected and the previous configuration serves on: ${why}`;
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
