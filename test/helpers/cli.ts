import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** Runs the CLI from source (tsx), so tests never depend on a stale dist/. */
export const CLI = ['--import', 'tsx', 'src/main.ts'];

export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The built CLI (dist/, as installed): for tests of real processes as operators run them. */
export const BUILT_CLI = ['bin/ecm-bridge.js'];

/** Starts a long-running CLI command (from source, or `entry` BUILT_CLI) and collects its output lines. */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
  entry: string[] = CLI,
): ChildProcessWithoutNullStreams & { output: () => string; waitFor: (re: RegExp, ms?: number) => Promise<string> } {
  const child = spawn(process.execPath, [...entry, ...args], {
    env: { ...process.env, ...env },
  }) as ChildProcessWithoutNullStreams & {
    output: () => string;
    waitFor: (re: RegExp, ms?: number) => Promise<string>;
  };
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  child.output = () => out;
  child.waitFor = (re, ms = 20_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output so far:\n${out}`)), ms);
      const check = () => {
        const m = re.exec(out);
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', check);
          child.stderr.off('data', check);
          resolve(m[0]);
        }
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      check();
    });
  return child;
}
