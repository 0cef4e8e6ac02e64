import type { Logger } from 'pino';
import { RunningBridge } from '../app/admin-client.js';
import type { Config } from '../app/config-schema.js';
import { QUARANTINE_LIMIT_MAX } from '../app/quarantine-list.js';
import { ServiceError } from '../platform/errors.js';
import { createLogger } from '../platform/logger.js';
import { EXIT, usage, write, type CommandRun } from './command.js';
import { loadOrReport } from './config-commands.js';

const DEFAULT_LIMIT = 50;

/** `--limit`: 1 to QUARANTINE_LIMIT_MAX (the admin socket's bound too), 50 when absent. */
function parseLimit(value: unknown, op: string): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = Number(value);
  if (!/^\d+$/.test(String(value)) || n < 1 || n > QUARANTINE_LIMIT_MAX)
    throw new ServiceError(
      'cli.usage',
      `--limit must be a whole number from 1 to ${QUARANTINE_LIMIT_MAX}, got "${String(value)}"`,
      { op },
    );
  return n;
}

interface ListSpec<T extends { total: number; shown: unknown[] }> {
  op: string;
  /** The admin socket operation that lists it in a running `serve` holding the embedded store. */
  adminOp: string;
  /** The listing read from the configured store, when no running bridge holds it. */
  read(config: Config, log: Logger, limit: number): Promise<T>;
  render(list: T): string[];
}

/**
 * A `report` listing of the store (`quarantine`, `recordings`): `--config FILE [--limit N] [--json]`.
 * With the embedded store held by a running `serve`, that process reads it (one process per data directory).
 */
export function reportList<T extends { total: number; shown: unknown[] }>(spec: ListSpec<T>): CommandRun {
  return async (args, io, command) => {
    const file = (args.values.config as string | undefined) ?? io.env.ECM_BRIDGE_CONFIG;
    if (!file) return usage(io, command.usage);
    const limit = parseLimit(args.values.limit, spec.op);
    const loaded = loadOrReport(file, io);
    if (!loaded.config) return loaded.exit;
    const bridge = await RunningBridge.find(loaded.config.store);
    const list = bridge
      ? await bridge.run<T>(spec.adminOp, { limit }, () => {})
      : await spec.read(loaded.config, createLogger({ level: 'warn' }, io.stderr), limit);
    if (args.values.json) io.stdout.write(`${JSON.stringify({ total: list.total, shown: list.shown }, null, 2)}\n`);
    else for (const line of spec.render(list)) write(io.stdout, line);
    return EXIT.ok;
  };
}
