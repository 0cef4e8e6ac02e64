import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli.js';
import { readmeBlock, sampleAndOutput } from '../helpers/readme-samples.js';

describe('ecm-bridge demo --once', () => {
  it('runs simulators, bridge and embedded store end to end without showing a secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecm-demo-'));
    const r = await runCliInProcess([
      'demo',
      '--once',
      '--sessions',
      '60',
      '--data-dir',
      dir,
      '--vault-port',
      '0',
      '--appliance-port',
      '0',
      '--http-port',
      '0',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/- Administrator \(web01\)\s+local, password/);
    expect(r.stdout).toMatch(/secret:\s+•+ \(16 characters, injected, never shown\)/);
    expect(r.stdout).toContain('{"released":true}');
    expect(r.stdout).toContain('mapping rule "contractors-denied"');
    expect(r.stdout).toMatch(/checked_in\s+lsid demo-\w+ CORP\\jdoe -> jdoe@corp\.example\.com web01\/Administrator/);
    expect(r.stdout).toMatch(/run: \{"demo":"ok"\}/);
    expect(r.stdout).toMatch(/session\s+60 rows/);
    expect(r.stdout).toContain('demo finished');
    // The README shows this tour: it must stay what the demo prints.
    const { sample, output } = sampleAndOutput(readmeBlock('What `npm run demo` shows'), r.stdout);
    expect(output).toBe(sample);
    // The injected password (from the demo estate) appears nowhere, nor in the logs.
    expect(r.stdout + r.stderr).not.toContain('Web01-Adm!n-2026');
    rmSync(dir, { recursive: true, force: true });
  });
});
