import type { Component } from '../../platform/lifecycle.js';
import { unit, unitKey, type UnitSpec } from '../../platform/units.js';
import type { StoreConfig } from '../../store/store-config.js';
import type { Runtime } from '../runtime.js';
import type { EarlyStoreOpen } from '../early-store.js';
import { openStore } from '../open-store.js';
import type { Store } from '../../store/store-ports.js';

/**
 * The store as a service unit: opens the configured database at start, applies pending
 * migrations (safe with several replicas starting at once), exposes the Store to later units
 * as `.store`, and reports its health on /readyz.
 */
export class StoreComponent implements Component {
  readonly name = 'store';
  #store: Store | undefined;
  #early: EarlyStoreOpen | undefined;

  /** `early`: `serve`'s open begun before the units were built; only the first start may use it. */
  constructor(
    private readonly config: StoreConfig,
    private readonly rt: Runtime,
    early?: EarlyStoreOpen,
  ) {
    this.#early = early;
  }

  /** Whether other replicas may use the same database (SQL Server; the embedded store is locked to one process). */
  get sharedByReplicas(): boolean {
    return this.config.kind === 'mssql';
  }

  /** The open store; only valid between start() and stop() (units after this one are created after its start). */
  get store(): Store {
    if (!this.#store) throw new Error('store unit used before it started');
    return this.#store;
  }

  async start(): Promise<void> {
    const early = this.#early;
    this.#early = undefined;
    const store = await openStore(this.config, { log: this.rt.log, metrics: this.rt.metrics }, early);
    try {
      const version = await store.migrate();
      this.rt.log.info(
        { component: 'store', kind: this.config.kind, schemaVersion: version, openedEarly: early?.taken ?? false },
        'store ready',
      );
    } catch (e) {
      await store.close();
      throw e;
    }
    this.#store = store;
    this.rt.readiness.register('store', async () => {
      const failure = await store.health();
      if (!failure) return { ready: true, reason: `${this.config.kind} store` };
      // Credential lists need no store; a get or release is refused as retryable, except the
      // release of a lease this replica issued, which is checked in at the vault and journalled.
      return {
        ready: false,
        degraded: true,
        failure,
        reason: `store unavailable (${failure.message}): credentials.list serving, get and release answered retryable`,
      };
    });
  }

  async stop(): Promise<void> {
    this.rt.readiness.unregister('store');
    const store = this.#store;
    this.#store = undefined;
    await store?.close();
  }
}

export const STORE_UNIT = unitKey<StoreComponent>('store');

/** The `store` unit for serviceUnits (first: every other unit may depend on it). */
export function storeUnit(config: StoreConfig, rt: Runtime, early?: EarlyStoreOpen): UnitSpec {
  return unit({ key: STORE_UNIT, slice: config, create: (slice) => new StoreComponent(slice, rt, early) });
}
