#!/usr/bin/env node
// Thin launcher: the CLI runs from its bundle in dist/bundle/ (shipped in the tarball, built by
// `npm run build` in a checkout; scripts/bundle.mjs says why it is bundled).
import { existsSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Node's on-disk compile cache (Node 22.1 and later; Node 20 has none for ES modules) for the
 * bundle's modules: a start then deserialises their compiled code instead of parsing and compiling
 * it on the main thread, where `serve` also starts the embedded Postgres. Node keys each entry by
 * its version and the source's hash, so a rebuilt or upgraded install never runs stale code. The
 * cache lives in the service's cache directory (systemd's CacheDirectory=) or the user's
 * (XDG_CACHE_HOME, ~/.cache), never in the install directory; NODE_COMPILE_CACHE names another,
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off. A directory that cannot be written only means no
 * cache: Node reports that in the returned status, which is not an error for the CLI.
 */
function enableCompileCache() {
  if (typeof module.enableCompileCache !== 'function') return;
  const env = process.env;
  try {
    // homedir() throws for a user with neither HOME nor a passwd entry (an arbitrary container uid).
    const base = env.CACHE_DIRECTORY?.split(':')[0] || env.XDG_CACHE_HOME || join(homedir(), '.cache');
    module.enableCompileCache(env.NODE_COMPILE_CACHE ? undefined : join(base, 'ecm-bridge', 'compile-cache'));
  } catch {
    // No cache is only a slower start.
  }
}

const entry = fileURLToPath(new URL('../dist/bundle/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('ecm-bridge: dist/bundle/main.js is missing; run `npm run build` first.\n');
  process.exit(70);
}
enableCompileCache();
await import(entry);
