import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/app/config-schema.js';
import { ConfigError } from '../../src/platform/config/loader.js';

/** Every remote receives a secret: plain http and user:password@ URLs are configuration errors. */
function problemsFor(siteUrl: string, vaultUrl: string): string[] {
  const yaml = [
    'allowLiteralSecrets: true',
    'sites:',
    '  - name: corp-pra',
    `    url: ${JSON.stringify(siteUrl)}`,
    '    ecm: { clientId: ecm, clientSecret: ecm-client-secret-123 }',
    'vault:',
    '  kind: passwordsafe',
    `  url: ${JSON.stringify(vaultUrl)}`,
    '  auth: { method: apikey, apiKey: ps-api-key-0123456789 }',
    'broker: { credentialIdKey: credential-id-key-0123456789-abcdefghij }',
  ].join('\n');
  try {
    parseConfigText(yaml, 'remote.yaml', { env: {} });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
}

describe('remote URLs', () => {
  it('accepts https: for the site and the vault', () => {
    expect(problemsFor('https://access.example.com', 'https://vault.example.com/BeyondTrust/api/public/v3')).toEqual(
      [],
    );
  });

  it('refuses http: for the site and the vault, naming both paths', () => {
    const found = problemsFor('http://access.example.com', 'HTTP://vault.example.com/BeyondTrust/api/public/v3');
    expect(found).toEqual([
      expect.stringMatching(/^sites\[0\]\.url: must be an https: URL/),
      expect.stringMatching(/^vault\.url: must be an https: URL/),
    ]);
  });

  it('refuses userinfo and never repeats it in the problem', () => {
    const found = problemsFor('https://ecm:hunter2-secret@access.example.com', 'https://admin@vault.example.com/v3');
    expect(found).toEqual([
      expect.stringMatching(/^sites\[0\]\.url: must not contain user:password@/),
      expect.stringMatching(/^vault\.url: must not contain user:password@/),
    ]);
    expect(found.join('\n')).not.toContain('hunter2');
  });
});
