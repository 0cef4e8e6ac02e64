import { createLogger } from '../platform/logger.js';
import { createMetricsRegistry } from '../platform/metrics.js';
import { loadMigrations, printableSql, type Dialect } from '../store/migrations.js';
import { openStore } from '../app/open-store.js';
import { EXIT, write, type Command } from './command.js';
import { loadOrReport, usage } from './config-commands.js';

export const dbMigrate: Command = {
  path: ['db', 'migrate'],
  summary: 'Create or upgrade the BGSessions and ecm_bridge tables (safe to run from several replicas at once)',
  usage: 'ecm-bridge db migrate --config FILE',
  examples: ['ecm-bridge db migrate --config /etc/ecm-bridge/config.yaml'],
  options: { config: { type: 'string', short: 'c' } },
  async run(args, io) {
    const file = (args.values.config as string | undefined) ?? io.env.ECM_BRIDGE_CONFIG;
    if (!file) return usage(io, this.usage);
    const loaded = loadOrReport(file, io);
    if (!loaded.config) return loaded.exit;
    // Migration progress goes to stderr as log lines; stdout carries the one-line result.
    const log = createLogger(loaded.config.log, io.stderr);
    const store = await openStore(loaded.config.store, {
      log,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
    });
    try {
      const before = await store.schemaVersion();
      const after = await store.migrate();
      const where =
        loaded.config.store.kind === 'mssql'
          ? `SQL Server ${loaded.config.store.server}/${loaded.config.store.database}`
          : `embedded database ${loaded.config.store.dataDir}`;
      write(
        io.stdout,
        after === before
          ? `${where}: schema version ${after}, up to date`
          : `${where}: schema version ${before} -> ${after} (${after - before} migration(s) applied)`,
      );
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};

export const dbPrintSql: Command = {
  path: ['db', 'print-sql'],
  summary: 'Print the schema SQL (migrations, then hand-run scripts) for a DBA to review or run by hand',
  usage: 'ecm-bridge db print-sql --dialect mssql|postgres',
  examples: ['ecm-bridge db print-sql --dialect mssql > bgsessions.sql', 'ecm-bridge db print-sql --dialect postgres'],
  options: { dialect: { type: 'string', short: 'd' } },
  async run(args, io) {
    const dialect = args.values.dialect as string | undefined;
    if (dialect !== 'mssql' && dialect !== 'postgres') {
      write(io.stderr, `--dialect must be mssql or postgres${dialect === undefined ? '' : ` (got "${dialect}")`}`);
      return usage(io, this.usage);
    }
    const d: Dialect = dialect;
    const latest = loadMigrations(d).at(-1)?.version ?? 0;
    io.stdout.write(`-- ecm-bridge schema, dialect ${d}, version ${latest}\n\n${printableSql(d)}`);
    return EXIT.ok;
  },
};
