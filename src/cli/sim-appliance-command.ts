import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../platform/logger.js';
import { ApplianceSimulator } from '../simulators/appliance/appliance-simulator.js';
import { FailoverPair } from '../simulators/appliance/failover-pair.js';
import { ReportingSimulator } from '../simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../simulators/appliance/reporting/session-generator.js';
import { loadAccountsFile } from '../simulators/appliance/sim-accounts.js';
import { EXIT, write, type CommandRun } from './command.js';
import { usage } from './config-commands.js';

function intOption(raw: unknown, fallback: number): number | undefined {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

export const runSimAppliance: CommandRun = async (args, io, command) => {
  const file = args.values.accounts as string | undefined;
  const port = intOption(args.values.port, 0);
  const heartbeatMs = intOption(args.values['heartbeat-ms'], 15_000);
  const product = (args.values.product as string | undefined) ?? 'pra';
  const sessions = intOption(args.values['reporting-sessions'], 1000);
  if (!file || port === undefined || !heartbeatMs || sessions === undefined || (product !== 'pra' && product !== 'rs'))
    return usage(io, command.usage);
  const log = createLogger({
    level: (args.values['log-level'] as 'info' | undefined) ?? 'info',
    name: 'appliance-sim',
  });
  // The Reporting API serves a deterministic set of sessions spread over the last 30 days.
  const windowMs = 30 * 86_400_000;
  const reports = new ReportingSimulator({
    generator: new SessionGenerator({
      seed: 1,
      count: sessions,
      hostName: 'access.example.com',
      product: product as 'pra' | 'rs',
      firstStartMs: Date.now() - windowMs,
      spacingMs: Math.max(1, Math.floor(windowMs / Math.max(sessions, 1))),
    }),
    now: Date.now,
  });
  const options = {
    accounts: loadAccountsFile(file),
    product: product as 'pra' | 'rs',
    heartbeatMs,
    log,
    reporting: reports.handle,
  } as const;
  const pair = args.values.failover ? new FailoverPair(options, [port, port === 0 ? 0 : port + 1]) : undefined;
  const nodes = pair ? pair.nodes : [new ApplianceSimulator({ ...options, port })];
  await (pair ? pair.start() : nodes[0]?.start());
  const caOut = (args.values['ca-out'] as string | undefined) ?? join(tmpdir(), `ecm-sim-ca-${process.pid}.pem`);
  writeFileSync(caOut, nodes[0]?.caPem ?? '');
  for (const n of nodes) write(io.stdout, `appliance simulator (${n.product}, role ${n.role}) listening on ${n.url}`);
  write(io.stdout, `CA certificate (use as sites[].caFile): ${caOut}`);
  write(io.stdout, `Reporting API: ${sessions} generated session(s) over the last 30 days`);
  write(
    io.stdout,
    `API accounts: ${options.accounts.map((a) => `${a.clientId} [ecm=${a.permissions.ecm ? 1 : 0} reporting=${a.permissions.reporting ? 1 : 0} command=${a.permissions.command} group=${a.ecmGroup}]`).join(', ')}`,
  );
  write(
    io.stdout,
    `console driver: ecm-bridge sim console --url ${nodes[0]?.url} --ca ${caOut} --op credentials.list --user 'CORP\\jdoe' --endpoint web01`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await Promise.all(nodes.map((n) => n.stop()));
  return EXIT.ok;
};
