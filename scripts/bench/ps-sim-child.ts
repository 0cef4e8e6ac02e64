/**
 * The Password Safe simulator for benchmarks, in its own process (so its CPU is not counted as
 * the bridge's) with a fixed answer latency:
 *
 *   npx tsx scripts/bench/ps-sim-child.ts SYSTEMS ACCOUNTS LATENCY_MS CA_FILE
 *
 * Prints `listening: URL` once ready; stops on SIGTERM. The estate also has a user granted every
 * workgroup, `all@corp.example.com`. Commands on stdin, one per line, each answered by one
 * `reply: ...` line: `latency MS` (sets the answer latency), `trace` (starts recording the call
 * order), `rounds` (answers `ROUNDS CALLS` since `trace`: sequential rounds and calls, sign-ins excluded).
 */
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { generateEstate } from '../../src/simulators/passwordsafe/estate-generator.js';
import { PasswordSafeSimulator } from '../../src/simulators/passwordsafe/password-safe-simulator.js';
import { sequentialRounds, type CallTrace } from '../../src/simulators/passwordsafe/sim-call-trace.js';

const [systems, accounts, latencyMs, caFile] = process.argv.slice(2);
const seed = generateEstate({ systems: Number(systems), accounts: Number(accounts) });
seed.users.push({ name: 'all@corp.example.com', groups: seed.groups.map((g) => g.name) });
const sim = await PasswordSafeSimulator.start({ seed, port: 0 });
sim.faults.latencyMs = Number(latencyMs);
writeFileSync(caFile!, sim.caPem);
console.log(`listening: ${sim.url}`);
let trace: CallTrace | undefined;
createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'latency') sim.faults.latencyMs = Number(arg);
  if (cmd === 'trace') trace = sim.traceCalls();
  if (cmd === 'rounds') {
    const calls = (trace?.calls ?? []).filter((c) => c.route !== 'POST Auth/SignAppin');
    console.log(`reply: ${sequentialRounds(calls)} ${calls.length}`);
  } else console.log('reply: ok');
});
process.once('SIGTERM', () => void sim.stop().then(() => process.exit(0)));
