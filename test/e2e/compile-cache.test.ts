import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBuiltCli } from '../helpers/cli.js';

/**
 * The launcher's compile cache (bin/ecm-bridge.js): on Node 22.1 and later the bundle's compiled
 * code is kept in the user's or service's cache directory and read back by the next start. Node
 * 20 has no compile cache for ES modules; there the launcher does nothing (run by the Node 22 and
 * 24 legs of `npm run test:node-matrix`). Node's own debug output says which entries it accepted.
 * Skipped too where the environment already chooses the cache (Node's variables, systemd's).
 */
const chosen = ['NODE_COMPILE_CACHE', 'NODE_DISABLE_COMPILE_CACHE', 'CACHE_DIRECTORY'].some((v) => process.env[v]);
describe.skipIf(typeof (module as { enableCompileCache?: unknown }).enableCompileCache !== 'function' || chosen)(
  'compile cache',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'compile-cache-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const env = (cacheHome: string) => ({ XDG_CACHE_HOME: cacheHome, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });

    it("a second start reads the bundle's compiled code from the user's cache directory", async () => {
      const home = join(dir, 'cache');
      const first = await runBuiltCli(['version'], env(home));
      expect(first.code).toBe(0);
      const [versionDir] = readdirSync(join(home, 'ecm-bridge', 'compile-cache'));
      expect(readdirSync(join(home, 'ecm-bridge', 'compile-cache', versionDir!)).length).toBeGreaterThan(0);

      const second = await runBuiltCli(['version'], env(home));
      expect(second.code).toBe(0);
      expect(second.stdout).toMatch(/^ecm-bridge \d/);
      expect(second.stderr).toMatch(/cache for file:\/\/\S*\/dist\/bundle\/main\.js was accepted/);
    });

    it('a cache directory that cannot be created costs nothing but the cache', async () => {
      const notADir = join(dir, 'a-file');
      writeFileSync(notADir, '');
      const run = await runBuiltCli(['version'], env(notADir));
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^ecm-bridge \d/);
      expect(run.stderr).toMatch(/Cannot create cache directory/);
      expect(run.stderr).not.toMatch(/was accepted/);
    });
  },
);
