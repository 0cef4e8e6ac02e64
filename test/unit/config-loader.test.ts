import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/platform/config/loader.js';
import { loadConfigFile, parseConfigText } from '../../src/app/config-schema.js';
import { Secret } from '../../src/platform/secret.js';

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

  it('applies defaults for every section a file leaves out', () => {
    const cfg = parseConfigText('http: {}\n', 'minimal.yaml');
    expect(cfg.store).toEqual({ kind: 'embedded', dataDir: './.data/pglite' });
    expect(cfg.http.port).toBe(9410);
    expect(cfg.log.level).toBe('info');
  });
});

describe('config paths', () => {
  it('resolves relative paths written in the file against the file directory', () => {
    const cfg = parseConfigText(
      'store: { kind: embedded, dataDir: data/pg }\nsites:\n  - { name: a, url: "https://a.example.com", caFile: ca/site.pem }\n',
      '/etc/ecm-bridge/bridge.yaml',
    );
    expect(cfg.store.kind === 'embedded' && cfg.store.dataDir).toBe('/etc/ecm-bridge/data/pg');
    expect(cfg.sites[0]?.caFile).toBe('/etc/ecm-bridge/ca/site.pem');
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
