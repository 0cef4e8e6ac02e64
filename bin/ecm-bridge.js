#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('ecm-bridge: dist/main.js is missing; run `npm run build` first.\n');
  process.exit(70);
}
await import(entry);
