import { RunningBridge } from '../app/admin-client.js';
import { QUARANTINE_LIMIT_MAX, readQuarantine, type QuarantineList } from '../app/quarantine-list.js';
import { ServiceError } from '../platform/errors.js';
import { createLogger } from '../platform/logger.js';
import { EXIT, usage, write, type CommandRun } from './command.js';
import { loadOrReport } from './config-commands.js';

const DEFAULT_LIMIT = 50;

function parseLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = Number(value);
  if (!/^\d+$/.test(String(value)) || n < 1 || n > QUARANTINE_LIMIT_MAX)
    throw new ServiceError(
      'cli.usage',
      `--limit must be a whole number from 1 to ${QUARANTINE_LIMIT_MAX}, got "${String(value)}"`,
      { op: 'report.quarantine' },
    );
  return n;
}

/** One block per session: the lsid quoted (it may hold spaces or quotes), then why, where and when. */
function render(list: QuarantineList): string[] {
  if (list.total === 0) return ['no quarantined session: every session reported so far passed validation'];
  const lines = [
    `${list.total} quarantined session(s)${list.total > list.shown.length ? `, the ${list.shown.length} seen last:` : ':'}`,
  ];
  for (const e of list.shown)
    lines.push(
      `site ${e.site}  lsid ${JSON.stringify(e.lsid)}  [${e.reason}] ${e.detail}`,
      `  window ${e.window}; first seen ${e.firstSeenAt}, last seen ${e.lastSeenAt}`,
    );
  return lines;
}

/** `report quarantine`: the sessions the reporting worker refused by validation (never stored in BGSessions). */
export const runReportQuarantine: CommandRun = async (args, io, command) => {
  const file = (args.values.config as string | undefined) ?? io.env.ECM_BRIDGE_CONFIG;
  if (!file) return usage(io, command.usage);
  const limit = parseLimit(args.values.limit);
  const loaded = loadOrReport(file, io);
  if (!loaded.config) return loaded.exit;
  // With the embedded store held by a running `serve`, that process reads it (one process per data directory).
  const bridge = await RunningBridge.find(loaded.config.store);
  const list = bridge
    ? await bridge.run<QuarantineList>('quarantine', { limit }, () => {})
    : await readQuarantine(loaded.config, createLogger({ level: 'warn' }, io.stderr), limit);
  if (args.values.json) io.stdout.write(`${JSON.stringify({ total: list.total, shown: list.shown }, null, 2)}\n`);
  else for (const line of render(list)) write(io.stdout, line);
  return EXIT.ok;
};
