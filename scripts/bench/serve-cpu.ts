/**
 * Benchmark: the whole `ecm-bridge serve` process's CPU per console request, as an operator's
 * machine pays it: every thread of the process (V8's compilers and collector, PGlite, TLS, the
 * channel), not only the broker's share. The demo configuration runs against the Password Safe
 * and appliance simulators in this process (scripts/bench/serve-target.ts); a console user
 * lists, gets and releases a credential through the ECM channel, one request at a time.
 *
 *   npm run build && npx tsx scripts/bench/serve-cpu.ts [--runs N] [--first-seconds S] [--pace-ms MS] [--steady N] [--node-args='ARGS']
 *
 * Per run, a fresh `serve` on the same migrated data directory:
 * - first minute: cycles paced one every `pace-ms` from the moment it is ready, for
 *   `first-seconds` (a console drives a bridge at a low rate, so its first requests meet code
 *   that V8 has not optimised yet);
 * - steady: then `steady` cycles back to back, after as many unmeasured ones.
 * CPU per request: the process's CPU time (the sum of /proc/PID/task/TID/schedstat, nanoseconds)
 * from sending the request to its answer. Whole-process CPU over the first minute, idle gaps
 * included, is printed beside it. Each figure is the median of `runs` runs, with the 1-minute
 * load average before each run.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RequestContext } from '../../src/protocol/ecm-protocol.js';
import { describe, load1, machineLine, printTable, type Sampled } from './bench-stats.js';
import { startServeTarget } from './serve-target.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'first-seconds': { type: 'string', default: '60' },
    'pace-ms': { type: 'string', default: '500' },
    steady: { type: 'string', default: '300' },
    'node-args': { type: 'string', default: '' },
  },
});
const runs = Number(values.runs);
const firstMs = Number(values['first-seconds']) * 1000;
const paceMs = Number(values['pace-ms']);
const steady = Number(values.steady);
/** Options for serve's Node (a profile: `--node-args='--cpu-prof --cpu-prof-dir=DIR'`). */
const nodeArgs = values['node-args'].split(' ').filter((a) => a !== '');

/** CPU time of every live thread of `pid`, in ms (schedstat's first field: ns on a CPU). */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
}

const context: RequestContext = {
  user: { id: 42, username: 'CORP\\jdoe', securityProvider: { id: 3, name: 'Corp AD', kind: 'ldap' } },
  endpoint: { hostname: 'web01', fqdn: 'web01.corp.example.com', ip: '10.0.4.17:3389' },
  jumpItem: { id: 9001, name: 'web01 RDP', jumpGroup: { id: 7, name: 'Web servers' } },
  session: { lsid: 'serve-cpu-bench' },
};

type Phase = 'list' | 'get' | 'release';
const PHASES: Phase[] = ['list', 'get', 'release'];

const root = mkdtempSync(join(tmpdir(), 'serve-cpu-'));
const target = await startServeTarget(root);
const hub = target.appliance.hub;

/** One request through the channel; its answer's result, or a thrown error naming its code. */
async function ask(op: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out = await hub.request('Default', `credentials.${op}`, context, params);
  if (out.error || !out.result) throw new Error(`${op} failed: ${JSON.stringify(out.error ?? out)}`);
  return out.result as Record<string, unknown>;
}

/** List, get, release once; adds each request's CPU (ms) of process `pid` to `into`. */
async function cycle(pid: number, into: Record<Phase, number[]>): Promise<void> {
  const timed = async <T>(phase: Phase, f: () => Promise<T>): Promise<T> => {
    const c0 = cpuMs(pid);
    const out = await f();
    into[phase].push(cpuMs(pid) - c0);
    return out;
  };
  const listed = await timed('list', () => ask('list', { purpose: 'login' }));
  const id = (listed.credentials as { id: string }[])[0]!.id;
  const got = await timed('get', () => ask('get', { credentialId: id }));
  const leaseId = (got.credential as { leaseId: string }).leaseId;
  await timed('release', () => ask('release', { leaseId }));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const empty = (): Record<Phase, number[]> => ({ list: [], get: [], release: [] });

interface RunResult {
  readyMs: number;
  first: Record<Phase, number>;
  firstCycles: number;
  firstWholeMsPerCycle: number;
  steady: Record<Phase, number>;
}

async function oneRun(): Promise<RunResult> {
  const serve = await target.startServe({}, nodeArgs);
  try {
    // Ready may precede the channel's welcome: wait for the first answer (not measured).
    for (;;) {
      const out = await hub.request('Default', 'credentials.list', context, { purpose: 'login' });
      if (out.result) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const first = empty();
    const whole0 = cpuMs(serve.pid);
    const start = performance.now();
    let n = 0;
    while (performance.now() - start < firstMs) {
      const due = start + n * paceMs;
      if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
      await cycle(serve.pid, first);
      n++;
    }
    const firstWhole = cpuMs(serve.pid) - whole0;
    const warm = empty();
    for (let k = 0; k < steady; k++) await cycle(serve.pid, warm);
    const measured = empty();
    for (let k = 0; k < steady; k++) await cycle(serve.pid, measured);
    const perPhase = (m: Record<Phase, number[]>) =>
      Object.fromEntries(PHASES.map((p) => [p, mean(m[p])])) as Record<Phase, number>;
    return {
      readyMs: serve.readyMs,
      first: perPhase(first),
      firstCycles: n,
      firstWholeMsPerCycle: firstWhole / n,
      steady: perPhase(measured),
    };
  } finally {
    await serve.stop();
  }
}

try {
  await target.startServe().then((s) => s.stop()); // creates and migrates the data directory
  const results: RunResult[] = [];
  const loads: string[] = [];
  for (let i = 0; i < runs; i++) {
    loads.push(load1());
    results.push(await oneRun());
  }
  const s = (f: (r: RunResult) => number): Sampled => ({ values: results.map(f), loads });
  console.log(
    `serve CPU benchmark: whole-process CPU per console request at concurrency 1, ${runs} fresh processes; first minute: one list+get+release every ${paceMs} ms for ${firstMs / 1000} s after ready; steady: ${steady} cycles back to back after ${steady} unmeasured`,
  );
  console.log(machineLine());
  console.log('');
  printTable(
    ['case', 'list CPU ms', 'get CPU ms', 'release CPU ms', 'cycles', 'whole process CPU ms per cycle'],
    [
      [
        'first minute',
        describe(
          s((r) => r.first.list),
          2,
        ),
        describe(
          s((r) => r.first.get),
          2,
        ),
        describe(
          s((r) => r.first.release),
          2,
        ),
        describe(
          s((r) => r.firstCycles),
          0,
        ),
        describe(
          s((r) => r.firstWholeMsPerCycle),
          2,
        ),
      ],
      [
        'steady',
        describe(
          s((r) => r.steady.list),
          2,
        ),
        describe(
          s((r) => r.steady.get),
          2,
        ),
        describe(
          s((r) => r.steady.release),
          2,
        ),
        String(steady),
        '',
      ],
      [
        'serve spawn to /readyz 200 ms',
        describe(
          s((r) => r.readyMs),
          0,
        ),
        '',
        '',
        '',
        '',
      ],
    ],
  );
} finally {
  await target.stop();
  rmSync(root, { recursive: true, force: true });
}
