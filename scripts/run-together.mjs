#!/usr/bin/env node
/**
 * Runs npm scripts, and optionally one command, at the same time, and fails if any fails.
 * `npm test` runs the checks (`lint`) beside the suites (`vitest run`): the suites spend much of
 * their time waiting on sockets and child processes, so on the 2-core machine the type check and
 * the linters fill those waits instead of adding their ~40 s in front of the suites.
 * The command after `--` writes to the terminal as it runs; each npm script's output is kept and
 * printed whole at the end, so the two never interleave line by line.
 *
 *   node scripts/run-together.mjs lint -- vitest run [vitest args...]
 */
import { spawn } from 'node:child_process';

const args = process.argv.slice(2);
const dash = args.indexOf('--');
const scripts = dash < 0 ? args : args.slice(0, dash);
const live = dash < 0 ? [] : args.slice(dash + 1);
if (scripts.length === 0 && live.length === 0) {
  console.error('usage: node scripts/run-together.mjs SCRIPT... [-- COMMAND ARGS...]');
  process.exit(64);
}
const npm = process.env.npm_execpath;

/** Resolves with the exit code and the output (undefined when it went to the terminal). */
function run(name, file, argv, buffered) {
  return new Promise((resolve) => {
    const child = spawn(file, argv, { stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    const out = [];
    let ended = false;
    const end = (code, why) => {
      if (ended) return; // a spawn failure may be followed by 'close'
      ended = true;
      resolve({ name, code, why, out: buffered ? Buffer.concat(out) : undefined });
    };
    child.stdout?.on('data', (d) => out.push(d));
    child.stderr?.on('data', (d) => out.push(d));
    child.on('error', (e) => end(1, e.message));
    child.on('close', (code, signal) => end(code ?? 1, signal ?? `exit ${code}`));
  });
}

const results = await Promise.all([
  // Through the npm that runs us (npm_execpath) when there is one, so the same npm runs them.
  ...scripts.map((name) =>
    npm ? run(name, process.execPath, [npm, 'run', name], true) : run(name, 'npm', ['run', name], true),
  ),
  // npm puts node_modules/.bin on the PATH of the script that runs us.
  ...(live.length > 0 ? [run(live.join(' '), live[0], live.slice(1), false)] : []),
]);
for (const r of results.filter((r) => r.out !== undefined))
  process.stdout.write(`> ${r.name}: ${r.code === 0 ? 'ok' : `failed (${r.why})`}\n${r.out}`);
const failed = results.filter((r) => r.code !== 0).map((r) => r.name);
if (failed.length > 0) {
  console.error(`run-together: ${failed.join(', ')} failed`);
  process.exit(1);
}
