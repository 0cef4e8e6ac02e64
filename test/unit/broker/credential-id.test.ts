import { describe, expect, it } from 'vitest';
import {
  consoleUserKey,
  CredentialIdSigner,
  endpointKey,
  type CredentialClaims,
} from '../../../src/broker/credential-id.js';
import { isServiceError, type ServiceError } from '../../../src/platform/errors.js';
import { Secret } from '../../../src/platform/secret.js';
import { wireCode } from '../../../src/appliance/channel/wire-errors.js';

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
    expect(wireCode((e as ServiceError).code)).toBe('forbidden');
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

  it('seals the claims: the id shows no vault user, system, account or release, in any encoding', () => {
    const [version, keyId, body] = id.split('.') as [string, string, string];
    expect(version).toBe('v2');
    expect(keyId).toMatch(/^[\w-]{8}$/);
    const seen = [
      id,
      Buffer.from(body, 'base64url').toString('latin1'),
      Buffer.from(body, 'base64url').toString('utf8'),
    ];
    for (const text of seen)
      for (const claim of [
        'jdoe',
        'corp.example.com',
        'web01',
        'Administrator',
        '"systemId"',
        '"accountId"',
        'maximumRelease',
      ])
        expect(text).not.toContain(claim);
    // Two ids for the same claims differ (a fresh IV each): nothing to correlate either.
    expect(signer.issue(claims, T0)).not.toBe(signer.issue(claims, T0));
  });

  it('refuses altered ids and garbage, without throwing anything but credential.id_invalid', () => {
    const [version, keyId, body] = id.split('.') as [string, string, string];
    const sealed = Buffer.from(body, 'base64url');
    for (const at of [0, 13, sealed.length - 1]) {
      const flipped = Buffer.from(sealed);
      flipped[at]! ^= 0x01;
      expect(reason(() => signer.verify(`${version}.${keyId}.${flipped.toString('base64url')}`, bind, T0))).toBe(
        'bad seal',
      );
    }
    expect(reason(() => signer.verify(`${version}.${keyId}.${body.slice(0, 20)}`, bind, T0))).toBe('malformed');
    expect(reason(() => signer.verify(`v3.${keyId}.${body}`, bind, T0))).toBe('malformed');
    expect(reason(() => signer.verify('abc', bind, T0))).toBe('malformed');
    expect(reason(() => signer.verify(`${id}.x`, bind, T0))).toBe('malformed');
    expect(reason(() => signer.verify(42, bind, T0))).toBe('malformed');
    expect(reason(() => signer.verify('a'.repeat(5000), bind, T0))).toBe('malformed');
  });

  it('after a key rotation, ids sealed with the old key are refused as such (and so are v1 signed ids)', () => {
    const rotated = new CredentialIdSigner(new Secret('x'.repeat(32)), 300_000);
    expect(reason(() => rotated.verify(id, bind, T0))).toBe(
      'sealed with another credentialIdKey (rotated or not shared by every replica)',
    );
    // A forged key id (the old id relabelled with the new key's) fails the authentication.
    const newKeyId = rotated.issue(claims, T0).split('.')[1]!;
    const [, , body] = id.split('.') as [string, string, string];
    expect(reason(() => rotated.verify(`v2.${newKeyId}.${body}`, bind, T0))).toBe('bad seal');
    // The format before sealing: base64url(JSON claims).base64url(HMAC).
    const v1 = `${Buffer.from(JSON.stringify({ ...claims, expiresAt: T0 + 1 })).toString('base64url')}.bWFj`;
    expect(reason(() => signer.verify(v1, bind, T0))).toBe(
      'sealed in an older format (before an upgrade); reopen the list',
    );
    // The new key's own ids work at once.
    expect(rotated.verify(rotated.issue(claims, T0), bind, T0)).toMatchObject(claims);
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
