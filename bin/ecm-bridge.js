#!/usr/bin/env node
// Thin launcher: the CLI runs from its bundle in dist/bundle/ (built by `npm ci` through the
// prepare script; scripts/bundle.mjs says why it is bundled).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/bundle/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('ecm-bridge: dist/bundle/main.js is missing; run `npm run build` first.\n');
  process.exit(70);
}
await import(entry);
