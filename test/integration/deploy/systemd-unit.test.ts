import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const unit = readFileSync('deploy/ecm-bridge.service', 'utf8');

async function systemdAnalyze(): Promise<string | undefined> {
  try {
    await run('systemd-analyze', ['--version']);
    return undefined;
  } catch {
    return 'systemd-analyze is not installed (apt-get install systemd); the unit file was not verified';
  }
}
const missing = await systemdAnalyze();
if (missing) console.warn(`skipped: ${missing}`);

describe('deploy/ecm-bridge.service', () => {
  it('is hardened, restarts on failure, reloads by SIGHUP and keeps state in its StateDirectory', () => {
    const directives = unit.split('\n').filter((l) => /^\w+=/.test(l));
    for (const d of [
      'DynamicUser=yes',
      'StateDirectory=ecm-bridge',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'Restart=on-failure',
      'RestartPreventExitStatus=78',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'CapabilityBoundingSet=',
    ])
      expect(directives).toContain(d);
    expect(directives).toContain('ExecStart=/usr/local/bin/ecm-bridge serve --config /etc/ecm-bridge/config.yaml');
  });

  it.skipIf(missing !== undefined)('passes systemd-analyze verify without a warning', async () => {
    // verify requires the binaries to exist: point the unit at this checkout's launcher.
    const dir = mkdtempSync(join(tmpdir(), 'ecm-unit-'));
    const file = join(dir, 'ecm-bridge.service');
    writeFileSync(file, unit.replaceAll('/usr/local/bin/ecm-bridge', resolve('bin/ecm-bridge.js')));
    const { stdout, stderr } = await run('systemd-analyze', ['verify', file]);
    expect(stderr + stdout).toBe('');
    // The check itself is strict: a misspelt directive is reported.
    writeFileSync(
      file,
      unit
        .replace('ProtectSystem=strict', 'ProtectSystem=strictt')
        .replaceAll('/usr/local/bin/ecm-bridge', resolve('bin/ecm-bridge.js')),
    );
    const bad = await run('systemd-analyze', ['verify', file]);
    expect(bad.stderr).toContain('strictt');
  });
});
