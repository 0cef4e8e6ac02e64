import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../platform/logger.js';
import { ApplianceSimulator } from '../simulators/appliance/appliance-simulator.js';
import { AtlasCluster } from '../simulators/appliance/atlas-cluster.js';
import { FailoverPair } from '../simulators/appliance/failover-pair.js';
import { ReportingSimulator } from '../simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../simulators/appliance/reporting/session-generator.js';
import { demoAccountsPath, loadAccountsFile } from '../simulators/appliance/sim-accounts.js';
import { EXIT, usage, write, type CommandRun } from './command.js';

function intOption(raw: unknown, fallback: number): number | undefined {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

export const runSimAppliance: CommandRun = async (args, io, command) => {
  const file = (args.values.accounts as string | undefined) ?? demoAccountsPath;
  const port = intOption(args.values.port, 0);
  const heartbeatMs = intOption(args.values['heartbeat-ms'], 15_000);
  const product = (args.values.product as string | undefined) ?? 'pra';
  const sessions = intOption(args.values['reporting-sessions'], 1000);
  // A failover pair takes the port after --port and the next for its shared address, an Atlas
  // cluster the two after it: all must exist.
  const extraPorts = args.values.atlas || args.values.failover ? 2 : 0;
  if (
    port === undefined ||
    port > 65_535 - extraPorts ||
    !heartbeatMs ||
    sessions === undefined ||
    (product !== 'pra' && product !== 'rs') ||
    (args.values.failover === true && args.values.atlas === true)
  )
    return usage(io, command.usage);
  const log = createLogger({
    level: (args.values['log-level'] as 'info' | undefined) ?? 'info',
    name: 'appliance-sim',
  });
  // The Reporting API serves a deterministic set of sessions spread over the last 30 days.
  const windowMs = 30 * 86_400_000;
  const generator = new SessionGenerator({
    seed: 1,
    count: sessions,
    hostName: 'access.example.com',
    product: product as 'pra' | 'rs',
    firstStartMs: Date.now() - windowMs,
    spacingMs: Math.max(1, Math.floor(windowMs / Math.max(sessions, 1))),
    ...(args.values.atlas ? { trafficNodes: ['tn1.access.example.com', 'tn2.access.example.com'] } : {}),
  });
  const options = {
    accounts: loadAccountsFile(file),
    product: product as 'pra' | 'rs',
    heartbeatMs,
    log,
  } as const;
  const next = (k: number) => (port === 0 ? 0 : port + k);
  const atlas = args.values.atlas
    ? new AtlasCluster({ ...options, port, generator, recordingRedirect: 'traffic' })
    : undefined;
  // An Atlas primary mounts its own reporting (it redirects recordings to the traffic nodes).
  const withReports = () => ({ ...options, reporting: new ReportingSimulator({ generator, now: Date.now }).handle });
  const pair = args.values.failover
    ? new FailoverPair({ ...withReports(), sharedAddress: true }, [port, next(1), next(2)])
    : undefined;
  const nodes = atlas ? [atlas.primary] : pair ? pair.nodes : [new ApplianceSimulator({ ...withReports(), port })];
  await (atlas ? atlas.start([next(1), next(2)]) : pair ? pair.start() : nodes[0]?.start());
  const caOut = (args.values['ca-out'] as string | undefined) ?? join(tmpdir(), `ecm-sim-ca-${process.pid}.pem`);
  writeFileSync(caOut, atlas?.caPem ?? nodes[0]?.caPem ?? '');
  for (const n of nodes) write(io.stdout, `appliance simulator (${n.product}, role ${n.role}) listening on ${n.url}`);
  for (const t of atlas?.traffic ?? [])
    write(io.stdout, `traffic node ${t.publicName} listening on https://${t.address}`);
  if (atlas)
    write(
      io.stdout,
      `site config: atlas: ${JSON.stringify({ trafficNodes: atlas.traffic.map((t) => t.publicName), hostMap: atlas.hostMap })}`,
    );
  write(io.stdout, `CA certificate (use as sites[].caFile): ${caOut}`);
  if (pair)
    write(
      io.stdout,
      `shared address (a site without nodes: url only; it follows the primary) listening on ${pair.sharedUrl}`,
    );
  if (pair)
    write(
      io.stdout,
      `failover control: curl --cacert ${caOut} -X POST ${nodes[0]?.url}/sim/control/failover -d '{"action":"swap"}' (actions: swap, failover, resume-sync, failed-sync, both-backup)`,
    );
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
  await (atlas ? atlas.stop() : Promise.all(nodes.map((n) => n.stop())));
  return EXIT.ok;
};
