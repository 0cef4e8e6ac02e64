import type { Config } from './config-schema.js';
import { isServiceError } from '../platform/errors.js';
import type { Component } from '../platform/lifecycle.js';
import type { UnitSpec } from '../platform/units.js';
import type { Check, Runtime } from './service-units.js';
import { openStore } from './open-store.js';
import type { Store } from '../store/store-ports.js';

/**
 * The store as a service unit: opens the configured database at start, applies pending
 * migrations (safe with several replicas starting at once), exposes the Store to later units
 * as `.store`, and reports its health on /readyz.
 */
export class StoreComponent implements Component {
  readonly name = 'store';
  #store: Store | undefined;

  constructor(
    private readonly config: Config['store'],
    private readonly rt: Runtime,
  ) {}

  /** The open store; only valid between start() and stop() (units after this one are created after its start). */
  get store(): Store {
    if (!this.#store) throw new Error('store unit used before it started');
    return this.#store;
  }

  async start(): Promise<void> {
    const store = await openStore(this.config, { log: this.rt.log, metrics: this.rt.metrics });
    try {
      const version = await store.migrate();
      this.rt.log.info({ component: 'store', kind: this.config.kind, schemaVersion: version }, 'store ready');
    } catch (e) {
      await store.close();
      throw e;
    }
    this.#store = store;
    this.rt.readiness.register('store', async () => {
      const h = await store.health();
      return h.ok
        ? { ready: true, reason: `${this.config.kind} store` }
        : { ready: false, reason: h.reason ?? 'store unhealthy' };
    });
  }

  async stop(): Promise<void> {
    this.rt.readiness.unregister('store');
    const store = this.#store;
    this.#store = undefined;
    await store?.close();
  }
}

/** The `store` unit for serviceUnits (first: every other unit may depend on it). */
export function storeUnit(config: Config, rt: Runtime): UnitSpec {
  return { key: 'store', slice: config.store, create: () => new StoreComponent(config.store, rt) };
}

/** `ecm-bridge check`: connects with the configured settings and compares the schema version. */
export function storeCheck(config: Config, rt: Runtime): Check {
  return {
    component: 'store',
    name: `${config.store.kind} database`,
    async run() {
      let store: Store | undefined;
      try {
        store = await openStore(config.store, { log: rt.log, metrics: rt.metrics });
        const version = await store.schemaVersion();
        const health = await store.health();
        return health.ok
          ? { ok: true, detail: `connected, schema version ${version}` }
          : {
              ok: false,
              detail: `connected, schema version ${version}: ${health.reason ?? 'unhealthy'}`,
              fix: 'run `ecm-bridge db migrate --config FILE`',
            };
      } catch (e) {
        return {
          ok: false,
          detail: isServiceError(e) ? `[${e.code}] ${e.message}` : 'cannot open the store',
          fix:
            config.store.kind === 'mssql'
              ? 'check store.server/port/database/user/password, the network path to SQL Server and its TLS certificate (store.caFile)'
              : 'check that store.dataDir is writable and not held by another process',
        };
      } finally {
        await store?.close();
      }
    },
  };
}
