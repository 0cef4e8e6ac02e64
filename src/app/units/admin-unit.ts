import { z } from 'zod';
import { AdminServer, type AdminEvent, type AdminHandlers } from '../../http/admin-server.js';
import { ServiceError } from '../../platform/errors.js';
import { unit, unitKey, type UnitSpec } from '../../platform/units.js';
import { BRIDGE_VERSION } from '../../platform/version.js';
import { MEMORY_DATA_DIR } from '../../store/pglite/cluster.js';
import type { StoreConfig } from '../../store/store-config.js';
import { adminSocketPath } from '../admin-client.js';
import { backfillSite } from '../backfill-runner.js';
import { listQuarantine, QUARANTINE_LIMIT_MAX } from '../quarantine-list.js';
import { listMissingRecordings } from '../missing-recordings-list.js';
import type { Config } from '../config-schema.js';
import type { Runtime } from '../runtime.js';
import { STORE_UNIT, type StoreComponent } from './store-unit.js';

export const ADMIN_UNIT = unitKey<AdminServer>('admin-socket');

/** A listing's body (quarantine, missing recordings): both share the bound. */
const QuarantineBody = z.object({ limit: z.number().int().min(1).max(QUARANTINE_LIMIT_MAX) });

const BackfillBody = z.strictObject({
  site: z.string().min(1).max(200),
  fromMs: z.number().int().nonnegative(),
  toMs: z.number().int().nonnegative(),
});

/**
 * The admin socket of `serve` on an embedded store (src/http/admin-server.ts says why): the
 * operator's `report backfill`, `check` (store line) and `db migrate` run here, on the store this
 * process holds, with the configuration running now. SQL Server admits many processes, so there
 * the commands open the database themselves and no socket is needed.
 */
export function adminUnits(config: Config, rt: Runtime, current: () => Config): UnitSpec[] {
  const store = config.store;
  if (store.kind !== 'embedded' || store.dataDir === MEMORY_DATA_DIR) return [];
  return [
    unit({
      key: ADMIN_UNIT,
      slice: store,
      deps: [STORE_UNIT],
      create: (slice: StoreConfig & { kind: 'embedded' }, units) =>
        new AdminServer(adminSocketPath(slice.dataDir), handlers(rt, current, units.live(STORE_UNIT)), rt.log),
    }),
  ];
}

function handlers(rt: Runtime, current: () => Config, storeUnit: () => StoreComponent | undefined): AdminHandlers {
  const heldStore = () => {
    const s = storeUnit();
    if (!s) throw new ServiceError('store.unavailable', 'the running bridge has no open store', { op: 'admin' });
    return s.store;
  };
  return {
    hello: () => ({ pid: process.pid, version: BRIDGE_VERSION }),
    async stream(op, body, emit, signal): Promise<AdminEvent> {
      const store = heldStore();
      if (op === 'store-status') return { event: 'done', schemaVersion: await store.schemaVersion() };
      if (op === 'migrate') {
        const before = await store.schemaVersion();
        return { event: 'done', before, after: await store.migrate() };
      }
      if (op === 'quarantine') {
        const { limit } = requestBody(QuarantineBody, body, op);
        return { event: 'done', ...(await listQuarantine(store.reports, limit)) };
      }
      if (op === 'missing-recordings') {
        const { limit } = requestBody(QuarantineBody, body, op);
        return { event: 'done', ...(await listMissingRecordings(store.reports, limit)) };
      }
      if (op === 'backfill') {
        const result = await backfillSite(current(), rt, store, {
          ...requestBody(BackfillBody, body, op),
          signal,
          onLockWait: () => emit({ event: 'lock-wait' }),
          onStart: (s) => emit({ event: 'start', ...s }),
          onProgress: (p) => emit({ event: 'progress', ...p }),
        });
        return { event: 'done', ...result };
      }
      throw new ServiceError('cli.usage', `unknown admin operation "${op}"`, { op: 'admin' });
    },
  };
}

/** The op's body as its schema says, or a usage error naming the op and the problem. */
function requestBody<T>(schema: z.ZodType<T>, body: unknown, op: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new ServiceError('cli.usage', `${op} request: ${z.prettifyError(parsed.error)}`, { op: 'admin' });
  return parsed.data;
}
