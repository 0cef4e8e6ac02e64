import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/main.js';
import { demoSeedPath } from '../../../src/simulators/passwordsafe/estate-generator.js';
import { loadSeedFile } from '../../../src/simulators/passwordsafe/seed.js';
import { startPsForBroker } from './ps-broker-harness.js';

function capture() {
  let text = '';
  return {
    stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream,
    text: () => text,
  };
}

describe('ecm-bridge test-settings against the Password Safe simulator', () => {
  let ps: Awaited<ReturnType<typeof startPsForBroker>>;
  beforeAll(async () => {
    ps = await startPsForBroker();
  });
  afterAll(async () => ps.close());

  async function run(...args: string[]) {
    return runWith(ps.configFile, ...args);
  }

  async function runWith(configFile: string, ...args: string[]) {
    const out = capture();
    const err = capture();
    const code = await runCli(['test-settings', '--config', configFile, ...args], {
      stdout: out.stream,
      stderr: err.stream,
      env: ps.env,
    });
    return { code, out: out.text(), err: err.text() };
  }

  it('shows the trace, the vault user, the accounts and the offers, without checking out', async () => {
    const r = await run('--user', 'CORP\\jdoe', '--provider', 'Corp AD', '--endpoint', 'web01.corp.example.com');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('contractors-denied  no-match  username "CORP\\jdoe" does not match');
    expect(r.out).toContain(
      '* corp-to-upn         matched   vault user "jdoe@corp.example.com" (domain to-upn, case lower)',
    );
    expect(r.out).toContain('names: web01, web01.corp.example.com');
    expect(r.out).toMatch(/1\. Administrator \(web01\) +local +password/);
    expect(r.out).toMatch(/3\. CORP\\svc-web \(domain account\) +domain-linked +password/);
    expect(r.out).not.toContain('backup-operator'); // not API-enabled in the vault
    expect(r.out).toContain('Result: OK (nothing was checked out');
    expect(ps.sim.requests()).toEqual([]);
  });

  it('--checkout releases the first credential and checks it in at once, never printing it', async () => {
    const password = ps.sim.currentPassword('web01', 'Administrator');
    const r = await run(
      '--user',
      'jdoe@corp.example.com',
      '--endpoint',
      '10.0.4.17:3389',
      '--jump-group',
      'Web servers',
      '--checkout',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Administrator \(web01\): vault request \d+, expires /);
    expect(r.out).toContain('received: password (not shown); checked in again: yes');
    expect(r.out).not.toContain(password);
    const [req] = ps.sim.requests();
    expect(req).toMatchObject({ status: 'released' });
    expect(req?.reason).toContain('jdoe@corp.example.com session test-settings-');
  });

  it('names the refusing rule or policy and exits 1', async () => {
    const denied = await run('--user', 'CORP\\ext-bob', '--endpoint', 'web01');
    expect(denied.code).toBe(1);
    expect(denied.out).toContain(
      'Result: REFUSED [mapping.denied] Credential injection refused by mapping rule "contractors-denied"',
    );
    const prod = await run('--user', 'CORP\\jdoe', '--endpoint', 'web01', '--jump-group', 'Production', '--json');
    expect(prod.code).toBe(1);
    const report = JSON.parse(prod.out) as { error: { code: string }; offered: unknown[] };
    expect(report.error.code).toBe('policy.denied');
    expect(report.offered).toHaveLength(3);
    const ok = await run(
      '--user',
      'CORP\\jdoe',
      '--endpoint',
      'web01',
      '--jump-group',
      'Production',
      '--external-key',
      'CHG-77',
    );
    expect(ok.code).toBe(0);
  });

  it('needs no appliance secret, answers an empty list as OK, and says "vault unavailable" for a vault that is down', async () => {
    const base = readFileSync(ps.configFile, 'utf8');
    const withSites = join(dirname(ps.configFile), 'with-sites.yaml');
    writeFileSync(
      withSites,
      `${base}\nsites:\n  - { name: s, url: "https://s.example.com", ecm: { clientId: c, clientSecret: env:UNSET_ECM_SECRET } }\n`,
    );
    const ok = await runWith(withSites, '--user', 'CORP\\jdoe', '--endpoint', 'web01');
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    const none = await runWith(withSites, '--user', 'CORP\\jdoe', '--endpoint', 'ghost');
    expect(none.code).toBe(0);
    expect(none.out).toContain('Result: OK, no credential to offer');
    const down = join(dirname(ps.configFile), 'vault-down.yaml');
    writeFileSync(
      down,
      base.replace(/url: .*/, 'url: https://127.0.0.1:1/BeyondTrust/api/public/v3\n  retries: { max: 0 }'),
    );
    const r = await runWith(down, '--user', 'CORP\\jdoe', '--endpoint', 'web01');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Result: FAILED: vault unavailable \[vault\.unavailable\]/);
    expect(r.out).not.toMatch(/Result: REFUSED/);
  });

  it.each([
    ['a domain user', 'CORP\\jdoe', 'Corp AD'],
    ['a UPN user', 'jdoe@corp.example.com', 'Corp AD'],
    ['a local or RADIUS user (no domain)', 'jdoe', 'RADIUS'],
  ])('%s: the unmapped-user hint is a rule that test-settings then shows working', async (_, user, provider) => {
    const base = readFileSync(ps.configFile, 'utf8');
    const userMapping = /\nuserMapping:\n[\s\S]*?(?=\nendpointMatching:)/.exec(base)![0];
    const noRules = join(dirname(ps.configFile), 'no-rules.yaml');
    writeFileSync(
      noRules,
      base.replace(userMapping, '\nuserMapping:\n  domains: { CORP: corp.example.com }\n  rules: []'),
    );
    const before = await runWith(noRules, '--user', user, '--provider', provider, '--endpoint', 'web01');
    expect(before.err).toBe('');
    expect(before.code).toBe(1);
    expect(before.out).toContain('Result: REFUSED [mapping.unmapped]');
    const rule = /hint: .*add e\.g\. `(- \{.*\})`/.exec(before.out)?.[1];
    expect(rule).toBeDefined();
    const withRule = join(dirname(ps.configFile), 'hinted-rule.yaml');
    writeFileSync(withRule, readFileSync(noRules, 'utf8').replace('\n  rules: []', `\n  rules:\n    ${rule}`));
    const after = await runWith(withRule, '--user', user, '--provider', provider, '--endpoint', 'web01');
    expect(after.err).toBe('');
    expect(after.out).toContain('vault user "jdoe@corp.example.com"');
    // The vault accepted the mapped user: its accounts for web01 are offered.
    expect(after.out).toMatch(/1\. Administrator \(web01\) +local +password/);
    expect(after.code).toBe(0);
  });

  it('--help shows every option', async () => {
    const out = capture();
    expect(await runCli(['test-settings', '--help'], { stdout: out.stream, stderr: out.stream, env: {} })).toBe(0);
    for (const o of [
      '--jump-group',
      '--provider',
      '--provider-kind',
      '--email',
      '--external-key',
      '--checkout',
      '--json',
      '--timeout-ms',
    ])
      expect(out.text()).toContain(o);
  });

  it('refuses missing arguments with usage', async () => {
    const r = await run('--user', 'CORP\\jdoe');
    expect(r.code).toBe(2);
    expect(r.err).toContain('usage: ecm-bridge test-settings');
  });
});

describe('ecm-bridge test-settings when the vault groups lack "Asset Management: read"', () => {
  let ps: Awaited<ReturnType<typeof startPsForBroker>>;
  beforeAll(async () => {
    const seed = loadSeedFile(demoSeedPath);
    ps = await startPsForBroker({ ...seed, groups: seed.groups.map((g) => ({ ...g, assetsRead: false })) });
  });
  afterAll(async () => ps.close());

  it('an endpoint known by IP gets a hint naming the permission (text and JSON)', async () => {
    const run = async (...extra: string[]) => {
      const out = capture();
      const err = capture();
      const args = ['test-settings', '--config', ps.configFile, '--user', 'CORP\\jdoe', '--endpoint', '10.0.4.17'];
      const code = await runCli([...args, ...extra], { stdout: out.stream, stderr: err.stream, env: ps.env });
      return { code, out: out.text(), err: err.text() };
    };
    const text = await run();
    expect(text.err).toBe('');
    expect(text.out).toMatch(
      /\nhint: Password Safe refused Assets\/Search \(403\) for "jdoe@corp\.example\.com": .*"Asset Management: read"/,
    );
    const json = JSON.parse((await run('--json')).out) as { notices?: string[] };
    expect(json.notices).toEqual([expect.stringContaining('"Asset Management: read"')]);
  });
});
