/**
 * Benchmark: `ecm-bridge serve` start-up against a bare process that imports PGlite and opens a
 * copy of the same data directory, alternating, by wall time (spawn to `/readyz` 200, spawn to
 * open) and by the process's CPU time by then (every thread, from /proc/PID/stat). On a shared
 * machine the wall ratio moves with the load; the CPU ratio much less, and it is what the wall
 * ratio tends to when the machine has no core to spare (each process then gets about the same
 * share of one), while on a quiet machine the background threads' work (PGlite's WebAssembly
 * compile) overlaps the main thread's and the wall ratio is lower. On Node 22.1 and later, serve runs
 * with its compile cache warm (a cache directory of this run's) and, in the same run, with it off.
 *
 *   npm run build && npx tsx scripts/bench/serve-start.ts [--runs N]
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, load1, machineLine, median, printTable, type Sampled } from './bench-stats.js';
import { pgliteOpenProcess, startServeTarget } from './serve-target.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
const compileCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

const root = mkdtempSync(join(tmpdir(), 'serve-start-'));
const target = await startServeTarget(root);
const cached = { XDG_CACHE_HOME: join(root, 'cache') };
const kinds = ['pglite', 'serve', ...(compileCache ? ['serve, compile cache off'] : [])] as const;
type Kind = (typeof kinds)[number];
const wall = new Map<Kind, Sampled>(kinds.map((k) => [k, { values: [], loads: [] }]));
const cpu = new Map<Kind, Sampled>(kinds.map((k) => [k, { values: [], loads: [] }]));
const add = (kind: Kind, ms: number, cpuMs: number, load: string) => {
  for (const [m, v] of [
    [wall, ms],
    [cpu, cpuMs],
  ] as const) {
    m.get(kind)!.values.push(v);
    m.get(kind)!.loads.push(load);
  }
};
try {
  // Creates and migrates the data directory, and fills the compile cache.
  await (await target.startServe(cached)).stop();
  for (let i = 0; i < runs; i++) {
    const copy = join(root, `copy-${i}`);
    cpSync(target.dataDir, copy, { recursive: true });
    let load = load1();
    const p = await pgliteOpenProcess(copy);
    add('pglite', p.ms, p.cpuMs, load);
    load = load1();
    const s = await target.startServe(cached);
    await s.stop();
    add('serve', s.readyMs, s.readyCpuMs, load);
    if (compileCache) {
      load = load1();
      const off = await target.startServe({ NODE_DISABLE_COMPILE_CACHE: '1' });
      await off.stop();
      add('serve, compile cache off', off.readyMs, off.readyCpuMs, load);
    }
    rmSync(copy, { recursive: true, force: true });
  }
  const ratio = (m: Map<Kind, Sampled>, k: Kind) =>
    k === 'pglite'
      ? 'baseline'
      : `${median(m.get(k)!.values.map((v, i) => v / m.get('pglite')!.values[i]!)).toFixed(2)}x`;
  console.log(`serve start-up benchmark: existing data directory, ${runs} alternating runs (median, each run)`);
  console.log(machineLine());
  console.log(compileCache ? 'serve: compile cache warm unless the row says off' : 'serve: no compile cache (Node 20)');
  console.log('');
  printTable(
    ['process', 'spawn to ready ms', 'vs PGlite', 'CPU ms by ready', 'vs PGlite'],
    kinds.map((k) => [
      k === 'pglite' ? 'PGlite open (bare process)' : `\`ecm-bridge ${k}\``,
      describe(wall.get(k)!, 0),
      ratio(wall, k),
      describe(cpu.get(k)!, 0),
      ratio(cpu, k),
    ]),
  );
} finally {
  await target.stop();
  rmSync(root, { recursive: true, force: true });
}
