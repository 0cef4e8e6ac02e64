/**
 * The Password Safe simulator for benchmarks, in its own process (so its CPU is not counted as
 * the bridge's) with a fixed answer latency:
 *
 *   npx tsx scripts/bench/ps-sim-child.ts SYSTEMS ACCOUNTS LATENCY_MS CA_FILE
 *
 * Prints `listening: URL` once ready; stops on SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { generateEstate } from '../../src/simulators/passwordsafe/estate-generator.js';
import { PasswordSafeSimulator } from '../../src/simulators/passwordsafe/password-safe-simulator.js';

const [systems, accounts, latencyMs, caFile] = process.argv.slice(2);
const sim = await PasswordSafeSimulator.start({
  seed: generateEstate({ systems: Number(systems), accounts: Number(accounts) }),
  port: 0,
});
sim.faults.latencyMs = Number(latencyMs);
writeFileSync(caFile!, sim.caPem);
console.log(`listening: ${sim.url}`);
process.once('SIGTERM', () => void sim.stop().then(() => process.exit(0)));
