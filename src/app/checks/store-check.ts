import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isServiceError } from '../../platform/errors.js';
import { describeFailure } from '../../platform/health.js';
import { loadMigrations, type Migration } from '../../store/migrations.js';
import { MEMORY_DATA_DIR } from '../../store/pglite/cluster.js';
import type { StoreConfig } from '../../store/store-config.js';
import type { Store } from '../../store/store-ports.js';
import { RunningBridge } from '../admin-client.js';
import type { Check, CheckResult } from './check.js';
import { openStore } from '../open-store.js';
import type { Runtime } from '../runtime.js';

/** What `serve` (or `db migrate`) will apply on top of `current`. */
function pending(migrations: readonly Migration[], current: number): string {
  const todo = migrations.filter((m) => m.version > current);
  if (todo.length === 0) return '';
  const latest = todo.at(-1)!.version;
  return `\`serve\` (or \`db migrate\`) will migrate it to schema version ${latest}: ${todo.map((m) => `${m.version} ${m.name}`).join(', ')}`;
}

/** The nearest existing directory at or above `dir`. */
function existingAncestor(dir: string): string {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

/**
 * `ecm-bridge check` of the store. It creates nothing: a missing embedded data directory is
 * reported with what `serve` will create, and a schema behind the code is not a failure but says
 * which migrations `serve` will apply (`check` is meant to run before the first start).
 */
export function storeCheck(config: StoreConfig, rt: Runtime): Check {
  const migrations = loadMigrations(config.kind === 'embedded' ? 'postgres' : 'mssql');
  return {
    component: 'store',
    name: `${config.kind} database`,
    async run(): Promise<CheckResult> {
      if (config.kind === 'embedded' && config.dataDir !== MEMORY_DATA_DIR) {
        const dir = resolve(config.dataDir);
        if (!existsSync(dir)) {
          const parent = existingAncestor(dir);
          try {
            accessSync(parent, constants.W_OK);
          } catch {
            return {
              ok: false,
              detail: `data directory ${dir} does not exist and ${parent} is not writable`,
              fix: 'set store.dataDir to a directory the service user may create (e.g. /var/lib/ecm-bridge/pglite)',
              cause: 'store.dataDir',
            };
          }
          return { ok: true, detail: `no data directory yet at ${dir}; ${pending(migrations, 0)}` };
        }
      }
      let store: Store | undefined;
      try {
        // The bridge on this host holds the embedded store: it is healthy if that bridge reads it.
        const bridge = await RunningBridge.find(config);
        if (bridge) {
          const { schemaVersion } = await bridge.run<{ schemaVersion: number }>('store-status', {}, () => {});
          const todo = pending(migrations, schemaVersion);
          return {
            ok: true,
            detail: `held by the running bridge (pid ${bridge.pid}), schema version ${schemaVersion}${todo ? `; ${todo}` : ' (current)'}`,
          };
        }
        store = await openStore(config, { log: rt.log, metrics: rt.metrics });
        const version = await store.schemaVersion();
        const todo = pending(migrations, version);
        return { ok: true, detail: `connected, schema version ${version}${todo ? `; ${todo}` : ' (current)'}` };
      } catch (e) {
        return {
          ok: false,
          detail: isServiceError(e) ? describeFailure(e) : 'cannot open the store',
          fix:
            config.kind === 'mssql'
              ? 'check store.server/port/database/user/password, the network path to SQL Server and its TLS certificate (store.caFile)'
              : 'check that store.dataDir is writable and not held by another process',
        };
      } finally {
        await store?.close();
      }
    },
  };
}
