import { describe, expect, it } from 'vitest';
import {
  consoleUserKey,
  CredentialIdSigner,
  endpointKey,
  type CredentialClaims,
} from '../../../src/broker/credential-id.js';
import { isServiceError } from '../../../src/platform/errors.js';
import { Secret } from '../../../src/platform/secret.js';

const KEY = new Secret('k'.repeat(32));
const signer = new CredentialIdSigner(KEY, 300_000);
const T0 = Date.UTC(2026, 0, 1);
const bind = {
  consoleUser: consoleUserKey({ username: 'CORP\\jdoe', securityProvider: { id: 3 } }),
  vaultUser: 'jdoe@corp.example.com',
  endpoint: endpointKey({ names: ['web01'], ips: ['10.0.4.17'] }),
};
const claims: Omit<CredentialClaims, 'expiresAt'> = {
  ...bind,
  account: {
    systemId: 10,
    systemName: 'web01',
    accountId: 100,
    accountName: 'Administrator',
    kind: 'password',
    source: 'local',
  },
};

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(isServiceError(e, 'credential.id_invalid')).toBe(true);
    expect((e as { wire: string }).wire).toBe('forbidden');
    return String((e as { details: { reason: string } }).details.reason);
  }
  throw new Error('expected credential.id_invalid');
}

describe('CredentialIdSigner', () => {
  const id = signer.issue(claims, T0);

  it('round-trips claims for the same user and endpoint before expiry', () => {
    expect(signer.verify(id, bind, T0 + 299_999)).toMatchObject({ ...claims, expiresAt: T0 + 300_000 });
  });

  it('refuses an expired id', () => {
    expect(reason(() => signer.verify(id, bind, T0 + 300_000))).toBe('expired');
  });

  it('refuses an id offered to another console user, vault user or endpoint', () => {
    expect(
      reason(() =>
        signer.verify(
          id,
          { ...bind, consoleUser: consoleUserKey({ username: 'CORP\\mallory', securityProvider: { id: 3 } }) },
          T0,
        ),
      ),
    ).toBe('issued to another user');
    expect(reason(() => signer.verify(id, { ...bind, vaultUser: 'mallory@corp.example.com' }, T0))).toBe(
      'issued to another user',
    );
    expect(reason(() => signer.verify(id, { ...bind, endpoint: endpointKey({ names: ['db01'], ips: [] }) }, T0))).toBe(
      'issued for another endpoint',
    );
  });

  it('refuses forged ids: edited claims, another key, garbage', () => {
    const [body, mac] = id.split('.') as [string, string];
    const edited = JSON.parse(Buffer.from(body, 'base64url').toString()) as CredentialClaims;
    edited.account.accountId = 1; // try to get another account with the same signature
    const forgedBody = Buffer.from(JSON.stringify(edited)).toString('base64url');
    expect(reason(() => signer.verify(`${forgedBody}.${mac}`, bind, T0))).toBe('bad signature');
    expect(reason(() => new CredentialIdSigner(new Secret('x'.repeat(32)), 300_000).verify(id, bind, T0))).toBe(
      'bad signature',
    );
    expect(reason(() => signer.verify('abc', bind, T0))).toBe('malformed');
    expect(reason(() => signer.verify(`${id}.x`, bind, T0))).toBe('malformed');
    expect(reason(() => signer.verify(42, bind, T0))).toBe('malformed');
    expect(reason(() => signer.verify('a'.repeat(5000), bind, T0))).toBe('malformed');
  });

  it('binds the console user case-insensitively and per security provider', () => {
    expect(consoleUserKey({ username: 'CORP\\JDoe', securityProvider: { id: 3 } })).toBe(bind.consoleUser);
    expect(consoleUserKey({ username: 'CORP\\jdoe', securityProvider: { id: 4 } })).not.toBe(bind.consoleUser);
  });

  it('gives the same endpoint key whatever the order of names and IPs', () => {
    expect(endpointKey({ names: ['b', 'a'], ips: ['2', '1'] })).toBe(
      endpointKey({ names: ['a', 'b'], ips: ['1', '2'] }),
    );
  });
});
