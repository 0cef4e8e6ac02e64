#!/usr/bin/env node
/**
 * Runs the given npm scripts at the same time and fails if any fails: `npm test` checks (lint)
 * and builds at once. Both are CPU-bound and independent (lint reads the sources, the build
 * writes dist/), so on the 2-core machine this takes the longer of the two instead of their sum.
 * Each script's output is printed whole when it ends, so the two never interleave line by line.
 *
 *   node scripts/run-together.mjs lint build
 */
import { spawn } from 'node:child_process';

const scripts = process.argv.slice(2);
if (scripts.length === 0) {
  console.error('usage: node scripts/run-together.mjs SCRIPT...');
  process.exit(64);
}
const npm = process.env.npm_execpath;
const results = await Promise.all(
  scripts.map(
    (name) =>
      new Promise((resolve) => {
        // Through the npm that runs us (npm_execpath) when there is one, so the same npm runs both.
        const child = npm
          ? spawn(process.execPath, [npm, 'run', name], { stdio: ['ignore', 'pipe', 'pipe'] })
          : spawn('npm', ['run', name], { stdio: ['ignore', 'pipe', 'pipe'] });
        const out = [];
        let ended = false;
        const end = (code, why) => {
          if (ended) return; // a spawn failure may be followed by 'close'
          ended = true;
          process.stdout.write(`> ${name}: ${code === 0 ? 'ok' : `failed (${why})`}\n${Buffer.concat(out)}`);
          resolve({ name, code });
        };
        child.stdout.on('data', (d) => out.push(d));
        child.stderr.on('data', (d) => out.push(d));
        child.on('error', (e) => end(1, e.message));
        child.on('close', (code, signal) => end(code ?? 1, signal ?? `exit ${code}`));
      }),
  ),
);
const failed = results.filter((r) => r.code !== 0).map((r) => r.name);
if (failed.length > 0) {
  console.error(`run-together: ${failed.join(', ')} failed`);
  process.exit(1);
}
