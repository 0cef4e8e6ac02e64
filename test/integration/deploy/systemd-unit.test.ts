import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const unit = readFileSync('deploy/ecm-bridge.service', 'utf8');
const directives = unit.split('\n').filter((l) => /^\w+=/.test(l));

// `systemd-analyze verify` of the unit as installed from the tarball: test/e2e/release.test.ts.
describe('deploy/ecm-bridge.service', () => {
  it('is hardened, restarts on failure, reloads by SIGHUP to the main process and keeps state in its StateDirectory', () => {
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

  it('validates the config in the main process, so exit 78 really stops the restarts', () => {
    // RestartPreventExitStatus= applies to the main process only: a failing ExecStartPre= (a
    // `config validate`) restarted the unit every RestartSec. serve validates and exits 78 itself.
    expect(directives.filter((d) => d.startsWith('ExecStartPre='))).toEqual([]);
  });

  it('names documentation the install ships, not a repository URL', () => {
    expect(directives).toContain('Documentation=file:/usr/local/lib/node_modules/ecm-bridge/docs/deployment.md');
    expect(unit).not.toMatch(/https?:\/\//);
  });
});
