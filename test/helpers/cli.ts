import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/main.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a CLI command in this process with captured streams: the same `runCli` the binary calls,
 * without paying a Node start-up and module load per command.
 */
export async function runCliInProcess(argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await runCli(argv, { stdout: out, stderr: err, env: { ...process.env, ...env } });
  return { code, stdout, stderr };
}

const ROOT = join(import.meta.dirname, '..', '..');
/** The installed launcher; it runs the bundle in dist/bundle/ (built by `npm ci` and by `npm test`). */
export const BIN = join(ROOT, 'bin', 'ecm-bridge.js');

function newestMtime(dir: string, suffix: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(suffix)) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

let checked = false;
/** A child running an old build would test old code: refuse, naming the fix. */
export function assertBuildFresh(): void {
  if (checked) return;
  // Both outputs of `npm run build`: the per-module dist/ (scripts/transpile.mjs stamps it even
  // when an edit changed no output), which some tests import, and the bundle the launcher runs
  // (its meta.json rewritten by every build).
  const stamps = [join(ROOT, 'dist', '.transpiled'), join(ROOT, 'dist', 'bundle', 'meta.json')];
  const built = Math.min(...stamps.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
  if (built < newestMtime(join(ROOT, 'src'), '.ts'))
    throw new Error('dist/ is older than src/: run `npm run build` (npm test does) before tests that spawn the CLI');
  checked = true;
}

/**
 * Runs the built CLI as a real process: for what only a process shows (its exit status, signals,
 * two processes at once).
 */
export function runBuiltCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  assertBuildFresh();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export type RunningCli = ChildProcessWithoutNullStreams & {
  output: () => string;
  /** Resolves with the first match of `re` in stdout+stderr; rejects if the process exits first. */
  waitFor: (re: RegExp, ms?: number) => Promise<string>;
};

/** Starts a long-running built CLI command (signals are the point) and collects its output. */
export function startBuiltCli(args: string[], env: Record<string, string> = {}): RunningCli {
  assertBuildFresh();
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }) as RunningCli;
  let out = '';
  let exited: string | undefined;
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.on('close', (code, signal) => (exited = `exited (${code ?? signal})`));
  child.output = () => out;
  child.waitFor = (re, ms = 240_000) =>
    new Promise((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        child.stdout.off('data', check);
        child.stderr.off('data', check);
        child.off('close', check);
        fn();
      };
      const check = () => {
        const m = re.exec(out);
        if (m) done(() => resolve(m[0]));
        else if (exited) done(() => reject(new Error(`${exited} before ${re}; output:\n${out}`)));
      };
      // Only a bound for a process that hangs; the wait itself ends on the output or the exit.
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${re}; output:\n${out}`))), ms);
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      child.on('close', check);
      check();
    });
  return child;
}
