import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { demoSeedPath } from '../../src/simulators/passwordsafe/estate-generator.js';
import { PasswordSafeSimulator } from '../../src/simulators/passwordsafe/password-safe-simulator.js';
import { loadSeedFile } from '../../src/simulators/passwordsafe/seed.js';
import { COMMANDS } from '../../src/cli/commands.js';
import { runCliInProcess } from '../helpers/cli.js';
import { readmeBlock, sampleAndOutput } from '../helpers/readme-samples.js';

/** The words of a README command line (`$ ecm-bridge ...`), single quotes as a shell reads them. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

// The README's `test-settings` sample, run as written against the demo's configuration and the
// demo estate in the Password Safe simulator (the demo's own vault).
describe('README samples', () => {
  let sim: PasswordSafeSimulator;
  const dir = mkdtempSync(join(tmpdir(), 'ecm-readme-'));
  let configFile = '';
  beforeAll(async () => {
    sim = await PasswordSafeSimulator.start({ seed: loadSeedFile(demoSeedPath) });
    writeFileSync(join(dir, 'ca.pem'), sim.caPem);
    const doc = parseDocument(readFileSync('config/demo.yaml', 'utf8'));
    doc.setIn(['sites', 0, 'caFile'], join(dir, 'ca.pem'));
    doc.setIn(['vault', 'url'], sim.url);
    doc.setIn(['vault', 'caFile'], join(dir, 'ca.pem'));
    doc.setIn(['store', 'dataDir'], 'memory://');
    configFile = join(dir, 'demo.yaml');
    writeFileSync(configFile, doc.toString());
  });
  afterAll(async () => {
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the test-settings sample is what the command prints', async () => {
    const [command, ...output] = readmeBlock('`test-settings` shows what the broker would do');
    expect(command).toMatch(/^\$ ecm-bridge test-settings /);
    const args = shellWords(command!.slice('$ ecm-bridge '.length)).map((a, i, all) =>
      all[i - 1] === '--config' ? configFile : a,
    );
    const r = await runCliInProcess(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { sample, output: printed } = sampleAndOutput(output, r.stdout);
    expect(printed).toBe(sample);
  });

  it('the command-line summary lists every command the CLI has', () => {
    const block = readmeBlock('## Command line').join('\n');
    // `sim appliance|passwordsafe|console` stands for three commands.
    const listed = (path: string[]) =>
      block.includes(`ecm-bridge ${path.join(' ')}`) ||
      (path[0] === 'sim' && new RegExp(`ecm-bridge sim [\\w|]*\\b${path[1]}\\b`).test(block));
    expect(COMMANDS.filter((c) => !listed(c.path)).map((c) => c.path.join(' '))).toEqual([]);
  });
});
