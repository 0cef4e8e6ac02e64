import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startBuiltCli } from '../helpers/cli.js';

const readyz = async (port: number) => {
  const res = await request(`http://127.0.0.1:${port}/readyz`);
  return {
    status: res.statusCode,
    body: (await res.body.json()) as { components: Record<string, { ready: boolean; reason?: string }> },
  };
};

describe('ecm-bridge serve: a reload whose new units cannot start', () => {
  it('keeps the previous units serving, names the failure on /readyz, and applies a later good file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecm-rollback-'));
    const cfg = join(dir, 'c.yaml');
    const config = (dataDir: string, level = 'info') =>
      `store:\n  kind: embedded\n  dataDir: ${dataDir}\nreporting:\n  enabled: false\nhttp:\n  port: 0\nlog:\n  level: ${level}\n`;
    writeFileSync(cfg, config('memory://'));
    const child = startBuiltCli(['serve', '--config', cfg, '--grace-ms', '2000']);
    try {
      // Generous waits: PGlite's start on a busy 2-core machine takes tens of seconds.
      const listening = await child.waitFor(/"port":(\d+)/);
      const port = Number(/\d+/.exec(listening)![0]);
      // The ops server listens while the other units still start: ready once all have.
      await child.waitFor(/"msg":"ecm-bridge started"/);
      expect((await readyz(port)).status).toBe(200);

      // Valid YAML, but the store cannot open: its data directory would live inside a file.
      writeFileSync(cfg, config(join(cfg, 'pglite')));
      child.kill('SIGHUP');
      await child.waitFor(/configuration reload failed/);
      const failed = await readyz(port);
      expect(failed.status).toBe(200);
      expect(failed.body.components.store).toMatchObject({ ready: true });
      expect(failed.body.components.config).toMatchObject({ ready: true });
      expect(failed.body.components.config?.reason).toMatch(/failed and was rolled back: .*embedded database/);
      const metrics = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
      expect(metrics).toContain('ecm_bridge_config_reloads_total{outcome="failed"} 1');
      // Counted once: a rolled-back reload is not also a rejected one.
      expect(metrics).toContain('ecm_bridge_config_reloads_total{outcome="rejected"} 0');

      writeFileSync(cfg, config('memory://', 'debug'));
      child.kill('SIGHUP');
      await child.waitFor(/configuration reloaded/);
      const after = await readyz(port);
      expect(after.status).toBe(200);
      expect(after.body.components.config).toBeUndefined();

      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 300_000);
});
