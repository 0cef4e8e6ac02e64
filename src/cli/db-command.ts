import { createLogger } from '../platform/logger.js';
import { createMetricsRegistry } from '../platform/metrics.js';
import { loadMigrations, printableSql, type Dialect } from '../store/migrations.js';
import { RunningBridge } from '../app/admin-client.js';
import { openStore } from '../app/open-store.js';
import { EXIT, usage, write, type CommandRun } from './command.js';
import { loadOrReport } from './config-commands.js';

export const runDbMigrate: CommandRun = async (args, io, command) => {
  const file = (args.values.config as string | undefined) ?? io.env.ECM_BRIDGE_CONFIG;
  if (!file) return usage(io, command.usage);
  const loaded = loadOrReport(file, io);
  if (!loaded.config) return loaded.exit;
  const where =
    loaded.config.store.kind === 'mssql'
      ? `SQL Server ${loaded.config.store.server}/${loaded.config.store.database}`
      : `embedded database ${loaded.config.store.dataDir}`;
  const report = ({ before, after }: { before: number; after: number }, by = '') =>
    write(
      io.stdout,
      (after === before
        ? `${where}: schema version ${after}, up to date`
        : `${where}: schema version ${before} -> ${after} (${after - before} migration(s) applied)`) + by,
    );
  // A running `serve` holding the embedded store migrates it (it did at its start already).
  const bridge = await RunningBridge.find(loaded.config.store);
  if (bridge) {
    report(
      await bridge.run<{ before: number; after: number }>('migrate', {}, () => {}),
      ` (by the running bridge, pid ${bridge.pid})`,
    );
    return EXIT.ok;
  }
  // Migration progress goes to stderr as log lines; stdout carries the one-line result.
  const log = createLogger(loaded.config.log, io.stderr);
  const store = await openStore(loaded.config.store, {
    log,
    metrics: createMetricsRegistry({ defaultMetrics: false }),
  });
  try {
    const before = await store.schemaVersion();
    report({ before, after: await store.migrate() });
    return EXIT.ok;
  } finally {
    await store.close();
  }
};

export const runDbPrintSql: CommandRun = async (args, io, command) => {
  const dialect = args.values.dialect as string | undefined;
  if (dialect !== 'mssql' && dialect !== 'postgres') {
    write(io.stderr, `--dialect must be mssql or postgres${dialect === undefined ? '' : ` (got "${dialect}")`}`);
    return usage(io, command.usage);
  }
  const d: Dialect = dialect;
  const latest = loadMigrations(d).at(-1)?.version ?? 0;
  io.stdout.write(`-- ecm-bridge schema, dialect ${d}, version ${latest}\n\n${printableSql(d)}`);
  return EXIT.ok;
};
