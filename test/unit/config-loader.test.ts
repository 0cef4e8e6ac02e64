import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/platform/config/loader.js';
import { loadConfigFile, parseConfigText } from '../../src/app/config-schema.js';
import { Secret } from '../../src/platform/secret.js';
import { generateSimTls } from '../../src/simulators/appliance/sim-tls.js';

const readFile = (p: string) => {
  if (p === '/run/secrets/pra_reporting_secret') return 'reporting-secret\n';
  throw Object.assign(new Error('nope'), { code: 'ENOENT' });
};

function problems(text: string, env: Record<string, string> = {}) {
  try {
    parseConfigText(text, 'bad.yaml', { env, readFile });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('config loader', () => {
  it('loads the example configuration with every section', () => {
    const cfg = loadConfigFile('config/ecm-bridge.example.yaml', { env: {} });
    expect(cfg.sites[0]?.name).toBe('corp-pra');
    expect(cfg.sites[0]?.ecm?.clientSecret).toBeInstanceOf(Secret);
    expect(cfg.sites[0]?.ecm?.clientSecret.reveal()).toBe(
      readFileSync('config/example-secrets/pra-ecm-client-secret', 'utf8').trim(),
    );
    expect(cfg.sites[0]?.ecm?.clientSecret.origin).toBe('file:example-secrets/pra-ecm-client-secret');
    expect(cfg.vault?.auth.method).toBe('apikey');
    expect(cfg.userMapping.rules).toHaveLength(4);
    expect(cfg.reporting.schedule).toBe('*/5 * * * *');
    expect(JSON.stringify(cfg)).not.toContain(cfg.sites[0]?.ecm?.clientSecret.reveal());
  });

  it('reports an unknown key, a wrong type, a missing env var and a bad cron at once, with lines', () => {
    const found = problems(
      [
        'log:',
        '  levle: debug',
        'http:',
        '  port: "eighty"',
        'store:',
        '  kind: mssql',
        '  server: db',
        '  user: u',
        '  password: env:MISSING_DB_PASSWORD',
        'reporting:',
        '  schedule: "every five minutes"',
      ].join('\n'),
    );
    const byPath = Object.fromEntries(found.map((p) => [p.path, p]));
    expect(byPath['log.levle']?.message).toContain('did you mean "level"');
    expect(byPath['log.levle']?.line).toBe(2);
    expect(byPath['http.port']?.line).toBe(4);
    // In the file's words, not zod's ("Invalid input: expected number, received string"), and without the value.
    expect(byPath['http.port']?.message).toBe('must be a number, not text');
    expect(byPath['store.password']?.message).toContain('MISSING_DB_PASSWORD');
    expect(byPath['store.password']?.line).toBe(9);
    expect(byPath['reporting.schedule']?.message).toContain('cron');
    expect(byPath['reporting.schedule']?.line).toBe(11);
    expect(found).toHaveLength(4);
  });

  it('refuses literal secrets unless allowed, without echoing them', () => {
    const text = 'store:\n  kind: mssql\n  server: db\n  user: u\n  password: hunter2-literal\n';
    const found = problems(text);
    expect(found[0]?.message).toContain('literal secrets are not allowed');
    expect(JSON.stringify(found)).not.toContain('hunter2-literal');
    const ok = parseConfigText('allowLiteralSecrets: true\n' + text, 'demo.yaml');
    expect(ok.store.kind === 'mssql' && ok.store.password.reveal()).toBe('hunter2-literal');
  });

  it('reports YAML syntax errors with line and column', () => {
    const found = problems('log:\n  level: [unclosed\n');
    expect(found[0]?.path).toBe('(yaml)');
    expect(found[0]?.line).toBeGreaterThan(0);
  });

  it('reads file: secrets and strips one trailing newline', () => {
    const cfg = parseConfigText('http:\n  auth:\n    token: file:/run/secrets/pra_reporting_secret\n', 'x.yaml', {
      readFile,
    });
    expect(cfg.http.auth?.token.reveal()).toBe('reporting-secret');
  });

  it('names an unreadable secret file without its content', () => {
    const found = problems('http:\n  auth:\n    token: file:/nope\n');
    expect(found[0]?.message).toBe('secret file /nope cannot be read (ENOENT)');
  });

  it('refuses a status token equal to the monitoring token, and a public name that is not a DNS name', () => {
    const found = problems(
      'http:\n  publicNames: ["ops.corp.example", "evil/x"]\n  auth:\n    token: env:T1\n    statusToken: env:T2\n',
      { T1: 'same-token-value-0123', T2: 'same-token-value-0123' },
    );
    expect(found.map((p) => [p.path, p.message])).toEqual([
      ['http.publicNames[1]', 'must be a DNS name'],
      ['http.auth.statusToken', expect.stringContaining('must differ from http.auth.token')],
    ]);
    expect(JSON.stringify(found)).not.toContain('same-token-value');
  });

  it('applies defaults for every section a file leaves out', () => {
    const cfg = parseConfigText('http: {}\n', 'minimal.yaml');
    expect(cfg.store).toEqual({ kind: 'embedded', dataDir: './.data/pglite' });
    expect(cfg.http.port).toBe(9410);
    expect(cfg.log.level).toBe('info');
  });
});

describe('config paths', () => {
  it('resolves relative paths written in the file against the file directory', () => {
    const cfg = parseConfigText('store: { kind: embedded, dataDir: data/pg }\n', '/etc/ecm-bridge/bridge.yaml');
    expect(cfg.store.kind === 'embedded' && cfg.store.dataDir).toBe('/etc/ecm-bridge/data/pg');
    const mem = parseConfigText('store: { kind: embedded, dataDir: "memory://" }\n', '/etc/x.yaml');
    expect(mem.store.kind === 'embedded' && mem.store.dataDir).toBe('memory://');
  });

  it('rewords enumerations and bounds, refuses an empty file, reads PRA/RS in any case', () => {
    const found = problems('log:\n  level: loud\nreporting:\n  batchSize: 0\nhttp:\n  port: [1]\n');
    const byPath = Object.fromEntries(found.map((p) => [p.path, p.message]));
    expect(byPath).toEqual({
      'log.level': 'must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", not "loud"',
      'reporting.batchSize': 'must be at least 1, not 0',
      'http.port': 'must be a number, not a list',
    });
    for (const empty of ['', '# only a comment\n', '{}\n'])
      expect(problems(empty)).toEqual([
        { path: '(file)', message: 'the file is empty: nothing to run (see config/ecm-bridge.example.yaml)' },
      ]);
    const upper = parseConfigText('sites:\n  - { name: s, url: "https://s.example.com", product: RS }\n', 'ok.yaml', {
      env: {},
      readFile,
    });
    expect(upper.sites[0]?.product).toBe('rs');
  });

  it('leaves out sections a command ignores, so their secrets need not be set', () => {
    const text = [
      'sites:',
      '  - { name: s, url: "https://s.example.com", reporting: { clientId: r, clientSecret: env:UNSET_APPLIANCE_SECRET } }',
      'http: { port: 9411 }',
    ].join('\n');
    expect(problems(text)[0]?.message).toBe('environment variable UNSET_APPLIANCE_SECRET is not set');
    const cfg = parseConfigText(text, 'ok.yaml', { env: {}, readFile, ignoreSections: ['sites'] });
    expect(cfg.sites).toEqual([]);
    expect(cfg.http.port).toBe(9411);
  });
});

describe('caFile', () => {
  it('must exist and hold a PEM certificate, for sites and the vault: the problem names the field and the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecm-ca-file-'));
    try {
      writeFileSync(join(dir, 'good.pem'), (await generateSimTls()).caPem);
      writeFileSync(join(dir, 'empty.pem'), '');
      writeFileSync(join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
      const site = (name: string, ca: string) =>
        `  - { name: ${name}, url: "https://${name}.example.com", caFile: ${ca} }`;
      const text = [
        'vault:',
        '  kind: passwordsafe',
        '  url: https://vault.example.com/BeyondTrust/api/public/v3',
        '  caFile: missing.pem',
        '  auth: { method: apikey, apiKey: env:PS_KEY }',
        'sites:',
        site('a', 'empty.pem'),
        site('b', 'broken.pem'),
        site('c', 'good.pem'),
        '',
      ].join('\n');
      const file = join(dir, 'bridge.yaml');
      let found: { path: string; message: string }[] = [];
      try {
        parseConfigText(text, file, { env: { PS_KEY: 'k' } });
      } catch (e) {
        found = (e as ConfigError).problems;
      }
      expect(found.map((p) => `${p.path}: ${p.message}`)).toEqual([
        `sites[0].caFile: CA file ${join(dir, 'empty.pem')} holds no PEM certificate (-----BEGIN CERTIFICATE----- block)`,
        `sites[1].caFile: CA file ${join(dir, 'broken.pem')} has a certificate that cannot be parsed (block 1 of 1)`,
        `vault.caFile: CA file ${join(dir, 'missing.pem')} cannot be read (ENOENT)`,
      ]);
      const ok = parseConfigText(
        text.replace('missing.pem', 'good.pem').replace(/(empty|broken)\.pem/g, 'good.pem'),
        file,
        {
          env: { PS_KEY: 'k' },
        },
      );
      expect(ok.sites.map((s) => s.caFile)).toEqual([1, 2, 3].map(() => join(dir, 'good.pem')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
