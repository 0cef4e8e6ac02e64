import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAccountsFile, parseAccounts } from '../../../src/simulators/appliance/sim-accounts.js';
import { SimTokenStore } from '../../../src/simulators/appliance/sim-token-store.js';

const accounts = parseAccounts({ accounts: [{ clientId: 'a', clientSecret: 's', permissions: { ecm: true } }] });

describe('simulator OAuth state', () => {
  it('keeps 30 live tokens per account: the 31st invalidates the oldest', () => {
    const store = new SimTokenStore(accounts, () => 0);
    const tokens = Array.from({ length: 31 }, () => store.mint('a', 's')?.token as string);
    expect(store.check(`Bearer ${tokens[0]}`)).toEqual({ ok: false, reason: 'invalid' });
    expect(store.check(`Bearer ${tokens[1]}`)).toMatchObject({ ok: true, account: { clientId: 'a' } });
    expect(store.liveTokens('a')).toBe(30);
  });

  it('expires tokens by its clock, refuses a wrong secret, and kills all tokens on secret regeneration', () => {
    let now = 0;
    const store = new SimTokenStore(accounts, () => now, 60);
    const t = store.mint('a', 's')?.token as string;
    expect(store.mint('a', 'wrong')).toBeUndefined();
    expect(store.mint('nobody', 's')).toBeUndefined();
    now = 59_999;
    expect(store.check(`Bearer ${t}`).ok).toBe(true);
    now = 60_000;
    expect(store.check(`Bearer ${t}`)).toEqual({ ok: false, reason: 'expired' });
    now = 0;
    const fresh = store.regenerateSecret('a', 'new-secret');
    expect(fresh).toBe('new-secret');
    expect(store.check(`Bearer ${t}`)).toEqual({ ok: false, reason: 'invalid' });
    expect(store.mint('a', 's')).toBeUndefined();
    expect(store.mint('a', 'new-secret')).toBeDefined();
    expect(store.check(undefined)).toEqual({ ok: false, reason: 'missing' });
  });

  it('loads an accounts file with defaults and reports every problem with its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-accounts-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'accounts:\n  - clientId: x\n    clientSecret: y\n');
    expect(loadAccountsFile(good)).toEqual([
      {
        clientId: 'x',
        clientSecret: 'y',
        permissions: { ecm: false, reporting: false, command: 'deny' },
        ecmGroup: 'Default',
      },
    ]);
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        accounts: [{ clientId: 'x', clientSecret: 'y', permissions: { command: 'all' } }, { clientId: 'x' }],
      }),
    );
    // The configuration file's wording and position, not zod's raw messages.
    expect(() => loadAccountsFile(bad)).toThrow(/bad\.json:1:\d+: accounts\[0\]\.permissions\.command: /);
    expect(() => loadAccountsFile(bad)).toThrow(/accounts\[1\]\.clientSecret: /);
    expect(() => loadAccountsFile(bad)).not.toThrow(/Invalid input|Invalid option/);
    expect(() => loadAccountsFile(join(dir, 'missing.yaml'))).toThrow(
      /cannot read accounts file .*missing\.yaml \(ENOENT\)/,
    );
    expect(() =>
      parseAccounts({
        accounts: [
          { clientId: 'x', clientSecret: 'y' },
          { clientId: 'x', clientSecret: 'z' },
        ],
      }),
    ).toThrow('duplicate clientId "x"');
  });
});
