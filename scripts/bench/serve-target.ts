import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { parseDocument } from 'yaml';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { loadAccountsFile } from '../../src/simulators/appliance/sim-accounts.js';
import { demoSeedPath, loadSeedFile, PasswordSafeSimulator } from '../../src/simulators/passwordsafe/index.js';

/**
 * What `ecm-bridge serve` starts against in scripts/bench/process-footprint.ts: the Password
 * Safe and appliance simulators (in this process) and the demo configuration pointed at them,
 * with the embedded store in `dir` and reporting off (its first pull is not start-up).
 */
export async function startServeTarget(dir: string) {
  const vault = await PasswordSafeSimulator.start({ seed: loadSeedFile(demoSeedPath), port: 0 });
  const appliance = new ApplianceSimulator({
    accounts: loadAccountsFile('config/demo/appliance-accounts.yaml'),
    hostname: '127.0.0.1',
  });
  await appliance.start();
  writeFileSync(join(dir, 'vault-ca.pem'), vault.caPem);
  writeFileSync(join(dir, 'appliance-ca.pem'), appliance.caPem);
  const httpPort = await freePort();
  const doc = parseDocument(readFileSync('config/demo.yaml', 'utf8'));
  doc.setIn(['sites', 0, 'url'], appliance.url);
  doc.setIn(['sites', 0, 'caFile'], join(dir, 'appliance-ca.pem'));
  doc.setIn(['vault', 'url'], vault.url);
  doc.setIn(['vault', 'caFile'], join(dir, 'vault-ca.pem'));
  doc.setIn(['http', 'port'], httpPort);
  doc.setIn(['reporting', 'enabled'], false);
  /** The configuration with its embedded store in `dataDir`. */
  const configFor = (dataDir: string) => {
    doc.setIn(['store', 'dataDir'], dataDir);
    const file = join(dir, `serve-${basename(dataDir)}.yaml`);
    writeFileSync(file, doc.toString());
    return file;
  };
  const dataDir = join(dir, 'pglite');
  return {
    dataDir,
    /** The appliance simulator: its hub sends console requests to the connected bridge. */
    appliance,
    /**
     * Spawns `ecm-bridge serve` on `dataDir` (by default the target's own), with `env` added to
     * this process's, measures the time to its first `/readyz` 200 and its RSS then and after
     * `idleMs` more, and stops it.
     */
    serveToReady: (options: { dataDir?: string; idleMs?: number; env?: Record<string, string> } = {}) =>
      serveToReady(configFor(options.dataDir ?? dataDir), httpPort, options.idleMs ?? 0, options.env ?? {}),
    /**
     * Spawns `ecm-bridge serve` on the target's data directory, `nodeArgs` given to Node, and
     * leaves it running once ready.
     */
    startServe: (env: Record<string, string> = {}, nodeArgs: string[] = []) =>
      startServe(configFor(dataDir), httpPort, env, nodeArgs),
    stop: async () => {
      await appliance.stop();
      await vault.stop();
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** A process's resident set in MiB (Linux: /proc/PID/status). */
function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** A `serve` process started by `startServe`: ready, running until `stop`. */
export interface ServeProcess {
  pid: number;
  readyMs: number;
  /** The process's CPU time (every thread) when it was first ready. */
  readyCpuMs: number;
  stop: () => Promise<void>;
}

async function startServe(
  configFile: string,
  port: number,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<ServeProcess> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, 'bin/ecm-bridge.js', 'serve', '--config', configFile], {
    stdio: 'ignore',
    env: { ...process.env, ...env },
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let ended = false;
  void exited.then(() => (ended = true));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  try {
    for (;;) {
      if (ended) throw new Error('ecm-bridge serve exited before it was ready');
      const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) {
        const readyMs = performance.now() - t0;
        return { pid: child.pid!, readyMs, readyCpuMs: processCpuMs(child.pid!), stop };
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } catch (e) {
    await stop();
    throw e;
  }
}

async function serveToReady(
  configFile: string,
  port: number,
  idleMs: number,
  env: Record<string, string>,
): Promise<{ ms: number; rssMiB: number; idleRssMiB: number }> {
  const serve = await startServe(configFile, port, env);
  try {
    const atReady = rssMiB(serve.pid);
    await new Promise((r) => setTimeout(r, idleMs));
    return { ms: serve.readyMs, rssMiB: atReady, idleRssMiB: rssMiB(serve.pid) };
  } finally {
    await serve.stop();
  }
}

/** CPU time (ms) process `pid` has used so far, every thread, ended ones included (/proc/PID/stat). */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/**
 * Spawns a bare process that imports PGlite and opens `dataDir` with PGlite's defaults (a new
 * directory: PGlite's own initdb): milliseconds from the spawn to the open, and the process's CPU
 * time by then.
 */
export function pgliteOpenProcess(dataDir: string): Promise<{ ms: number; cpuMs: number }> {
  const t0 = performance.now();
  // It stays up after the open until killed, so that its CPU time can be read.
  const code =
    "const { PGlite } = await import('@electric-sql/pglite'); await PGlite.create(process.argv[1]); process.stdout.write('open\\n'); setInterval(() => {}, 1000);";
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => {
      const ms = performance.now() - t0;
      const cpuMs = processCpuMs(child.pid!);
      child.kill('SIGKILL');
      resolve({ ms, cpuMs });
    });
    child.once('exit', (c, signal) => signal === null && reject(new Error(`the PGlite open process exited with ${c}`)));
  });
}
