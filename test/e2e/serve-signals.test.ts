import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startBuiltCli } from '../helpers/cli.js';

describe('ecm-bridge serve: reload and shutdown', () => {
  it('rejects a bad file on SIGHUP, applies a good one, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecm-serve-'));
    const cfg = join(dir, 'c.yaml');
    const base = 'store:\n  kind: embedded\n  dataDir: memory://\nreporting:\n  enabled: false\nhttp:\n  port: 0\n';
    writeFileSync(cfg, base + 'log:\n  level: info\n');
    const child = startBuiltCli(['serve', '--config', cfg, '--grace-ms', '2000']);
    try {
      const listening = await child.waitFor(/"port":(\d+)/);
      const port = Number(/\d+/.exec(listening)![0]);
      expect((await request(`http://127.0.0.1:${port}/healthz`)).statusCode).toBe(200);
      // The process is `ecm-bridge serve` to ps (its title) and `ecm-bridge serv` to the kernel's
      // 15-byte comm, not `node`: an operator's pkill can target serve alone.
      if (process.platform === 'linux') {
        expect(readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim()).toBe('ecm-bridge serv');
        expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).toMatch(/^ecm-bridge serve\0*$/);
      }

      writeFileSync(cfg, base + 'log:\n  levle: debug\n');
      child.kill('SIGHUP');
      await child.waitFor(/reload rejected/);
      expect(child.output()).toContain('did you mean');
      expect((await request(`http://127.0.0.1:${port}/healthz`)).statusCode).toBe(200);
      // Visible where the operator looks, not only in the log: ready (the old file serves on), named.
      const rejected = (await (await request(`http://127.0.0.1:${port}/readyz`)).body.json()) as {
        components: Record<string, { ready: boolean; reason: string }>;
      };
      expect(rejected.components.config).toMatchObject({ ready: true });
      expect(rejected.components.config?.reason).toMatch(
        /was rejected .*1 problem\(s\), first .*c\.yaml:\d+:\d+: log\.levle/,
      );

      writeFileSync(cfg, base + 'log:\n  level: debug\n');
      child.kill('SIGHUP');
      await child.waitFor(/configuration reloaded/);
      const applied = (await (await request(`http://127.0.0.1:${port}/readyz`)).body.json()) as {
        components: Record<string, unknown>;
      };
      expect(applied.components.config).toBeUndefined();
      // The ops server's slice did not change: it kept its listener.
      expect(child.output()).toMatch(/"kept":\[[^\]]*"ops-server"/);
      expect((await request(`http://127.0.0.1:${port}/healthz`)).statusCode).toBe(200);

      const metrics = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
      expect(metrics).toContain('ecm_bridge_config_reloads_total{outcome="rejected"} 1');
      expect(metrics).toContain('ecm_bridge_config_reloads_total{outcome="applied"} 1');
      expect(metrics).toMatch(/ecm_bridge_build_info\{version="\d+\.\d+\.\d+",node="[^"]+"\} 1/);

      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(child.output()).toContain('"msg":"stopped"');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('another command ignores a SIGHUP with a line, and keeps running', async () => {
    const child = startBuiltCli([
      'sim',
      'passwordsafe',
      '--port',
      '0',
      '--ca-out',
      join(tmpdir(), `ecm-hup-ca-${process.pid}.pem`),
    ]);
    try {
      await child.waitFor(/Press Ctrl-C to stop/);
      if (process.platform === 'linux')
        expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).toMatch(/^ecm-bridge sim passwordsafe\0*$/);
      child.kill('SIGHUP');
      await child.waitFor(
        /ecm-bridge sim passwordsafe: SIGHUP ignored \(only `ecm-bridge serve` reloads its configuration\)/,
      );
      expect(child.exitCode).toBeNull();
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).not.toBe(129);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
