/**
 * Benchmark: how lean the process is. `ecm-bridge --help` and `version` start-up against
 * `node -e 0`; idle RSS and open time of the embedded store (an existing data directory) as the
 * bridge opens it against PGlite with its default Postgres settings; `ecm-bridge serve` (the
 * demo configuration against the Password Safe and appliance simulators, reporting off) from
 * spawn to `/readyz` 200 on an existing data directory, against a fresh process that imports
 * PGlite and opens a copy of that directory (PGlite's own open). Each figure is the median of
 * `runs` fresh processes, with the 1-minute load average before each.
 *
 *   npm run build && npx tsx scripts/bench/process-footprint.ts [--runs N]
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, load1, machineLine, median, printTable, type Sampled } from './bench-stats.js';
import { pgliteOpenProcess, startServeTarget } from './serve-target.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Number(values.runs);

function sample(f: () => number): Sampled {
  const s: Sampled = { values: [], loads: [] };
  for (let i = 0; i < runs; i++) {
    s.loads.push(load1());
    s.values.push(f());
  }
  return s;
}
const wall = (args: string[]) => () => {
  const t = performance.now();
  execFileSync(process.execPath, args, { stdio: 'ignore' });
  return performance.now() - t;
};
const child = (mode: string, dir: string) => {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'scripts/bench/footprint-child.ts', mode, dir],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as { openMs: number; rssMiB: number };
};

const root = mkdtempSync(join(tmpdir(), 'footprint-'));
const dir = join(root, 'db');
const target = await startServeTarget(root);
try {
  child('bridge', dir); // creates and migrates the data directory: every measured open is of an existing one
  const nodeBase = sample(wall(['-e', '0']));
  const help = sample(wall(['dist/main.js', '--help']));
  const version = sample(wall(['dist/main.js', 'version']));
  const printSql = sample(wall(['dist/main.js', 'db', 'print-sql', '--dialect', 'mssql']));
  const defaults: { openMs: number; rssMiB: number }[] = [];
  const bridge: { openMs: number; rssMiB: number }[] = [];
  const loadsD: string[] = [];
  const loadsB: string[] = [];
  for (let i = 0; i < runs; i++) {
    loadsD.push(load1());
    defaults.push(child('defaults', dir));
    loadsB.push(load1());
    bridge.push(child('bridge', dir));
  }
  await target.serveToReady(); // creates and migrates serve's data directory
  const pgliteOpen: Sampled = { values: [], loads: [] };
  const serveReady: Sampled = { values: [], loads: [] };
  for (let i = 0; i < runs; i++) {
    const copy = join(root, `copy-${i}`);
    cpSync(target.dataDir, copy, { recursive: true });
    pgliteOpen.loads.push(load1());
    pgliteOpen.values.push(await pgliteOpenProcess(copy));
    serveReady.loads.push(load1());
    serveReady.values.push(await target.serveToReady());
  }
  const ratio = (a: Sampled, b: Sampled) => `${median(a.values.map((v, i) => v / b.values[i]!)).toFixed(2)}x`;
  const rssD = { values: defaults.map((d) => d.rssMiB), loads: loadsD };
  const rssB = { values: bridge.map((d) => d.rssMiB), loads: loadsB };
  const openD = { values: defaults.map((d) => d.openMs), loads: loadsD };
  const openB = { values: bridge.map((d) => d.openMs), loads: loadsB };
  console.log(`process footprint benchmark, median of ${runs} fresh processes`);
  console.log(machineLine());
  console.log('');
  printTable(
    ['case', 'value', 'vs baseline'],
    [
      ['`node -e 0` wall ms', describe(nodeBase, 0), 'baseline'],
      ['`ecm-bridge --help` wall ms', describe(help, 0), ratio(help, nodeBase)],
      ['`ecm-bridge version` wall ms', describe(version, 0), ratio(version, nodeBase)],
      ['`ecm-bridge db print-sql` wall ms', describe(printSql, 0), ratio(printSql, nodeBase)],
      ['PGlite defaults: idle RSS MiB (existing data dir)', describe(rssD, 0), 'baseline'],
      ['bridge store (PgliteStore.open + migrate): idle RSS MiB', describe(rssB, 0), ratio(rssB, rssD)],
      ['PGlite defaults: open ms', describe(openD, 0), 'baseline'],
      ['bridge store: open + migrate ms', describe(openB, 0), ratio(openB, openD)],
      ['PGlite open in a fresh process (spawn to open) ms', describe(pgliteOpen, 0), 'baseline'],
      ['`ecm-bridge serve` spawn to /readyz 200 ms', describe(serveReady, 0), ratio(serveReady, pgliteOpen)],
    ],
  );
} finally {
  await target.stop();
  rmSync(root, { recursive: true, force: true });
}
