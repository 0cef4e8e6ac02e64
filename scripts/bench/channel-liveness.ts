/**
 * How long consoles are routed to a frozen ECM-active replica (issue 29, point 4). An appliance
 * simulator with the appliance's usual 15 s heartbeat; replica A, in a child process, connects
 * first (active); replica B (SiteLink, in this process) stands by. A is frozen with SIGSTOP while
 * a console sends one `credentials.list` every 100 ms (deadline 1 s). Measured: from the SIGSTOP
 * to the first request answered by B, and how many requests failed meanwhile. A is either the
 * bridge (its hello asks for a 2 s heartbeat) or a bare ECM that asks for nothing (the
 * baseline: what the appliance's own heartbeat gives, as before the change), in the same run.
 *
 *   npx tsx scripts/bench/channel-liveness.ts [--runs 1]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { benchSiteLink, until } from './ecm-bench.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 1);
const account = {
  clientId: 'ecm',
  clientSecret: 'ecm-bench-secret',
  permissions: { ecm: true, reporting: false, command: 'read_only' as const },
};
const context = { user: { username: 'CORP\\jdoe' }, endpoint: { hostname: 'web01', ip: '10.0.4.17' } };

async function round(mode: 'bridge' | 'bare'): Promise<string> {
  const sim = new ApplianceSimulator({ accounts: [account], heartbeatMs: 15_000 });
  await sim.start();
  // B's link writes the CA file; A (the child) reads the same one.
  const b = await benchSiteLink(
    sim,
    account,
    { handle: async () => ({ credentials: [] }) as never },
    createMetricsRegistry({ defaultMetrics: false }),
  );
  await b.link.stop(1000);
  // Node itself (not npx): SIGSTOP must freeze the process that holds the channel.
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'scripts/bench/liveness-child.ts',
      mode,
      sim.url,
      b.site.caFile as string,
      account.clientId,
      account.clientSecret,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((r) => child.stdout?.on('data', (d: Buffer) => String(d).includes('ready') && r()));
  const standby = await benchSiteLink(
    sim,
    account,
    { handle: async () => ({ credentials: [] }) as never },
    createMetricsRegistry({ defaultMetrics: false }),
  );
  await until(() => standby.link.status().role === 'standby');
  const t0 = performance.now();
  child.kill('SIGSTOP');
  let failed = 0;
  let answeredBy: string | undefined;
  while (answeredBy !== 'bench') {
    const out = await sim.hub.request('Default', 'credentials.list', context, {}, 1000);
    if (out.answeredBy === 'ecm') answeredBy = out.ecmInstanceId;
    else failed++;
    if (answeredBy !== 'bench') await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - t0) / 1000;
  child.kill('SIGKILL');
  await standby.link.stop(1000);
  await sim.stop();
  return `| ${mode === 'bridge' ? 'bridge (asks 2 s)' : 'bare ECM (appliance 15 s)'} | ${seconds.toFixed(1)} | ${failed} | ${loadavg()[0]?.toFixed(1)} |`;
}

const rows: string[] = [];
for (let i = 0; i < runs; i++) {
  rows.push(await round('bridge'));
  rows.push(await round('bare'));
}
console.log(
  [
    '| frozen active replica | to failover s | console requests failed | load (1 min) |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n'),
);
