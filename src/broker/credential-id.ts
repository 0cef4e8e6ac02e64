import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import type { ConsoleUser } from './broker-port.js';
import { ServiceError } from '../platform/errors.js';
import type { Secret } from '../platform/secret.js';
import type { VaultAccount, VaultTarget } from '../vault/vault-port.js';

/** What a credential id carries: enough to check out without listing again, never a secret. */
export interface CredentialClaims {
  consoleUser: string;
  vaultUser: string;
  endpoint: string;
  account: Pick<
    VaultAccount,
    | 'systemId'
    | 'systemName'
    | 'accountId'
    | 'accountName'
    | 'domainName'
    | 'kind'
    | 'source'
    | 'maximumReleaseMinutes'
    | 'workgroup'
  >;
  /** Expiry, epoch milliseconds. */
  expiresAt: number;
}

const MAX_ID_LENGTH = 4096;
/** Bumped when the sealing changes: an id of another version is refused as such. */
const VERSION = 'v2';
const CONTEXT = 'ecm-bridge/credential-id/v2';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals and opens credential ids: `v2.<key id>.base64url(iv | AES-256-GCM(claims) | tag)`. The
 * claims (vault user, system and account ids, maximum release) are encrypted and authenticated,
 * so the appliance and every console see an opaque string they can neither read nor alter. The
 * AES key and the key id are derived (HKDF-SHA256) from `broker.credentialIdKey`, the same secret
 * as before, so key management is unchanged; the key id is a fingerprint that lets an id sealed
 * before a rotation be refused as such rather than as a forgery. An id is bound to the console
 * user, the vault user, the endpoint and the account and expires after `ttlMs`.
 */
export class CredentialIdSigner {
  /** Derived once: a list seals one id per account. */
  readonly #key: KeyObject;
  readonly #keyId: string;

  constructor(
    key: Secret,
    private readonly ttlMs: number,
  ) {
    const ikm = Buffer.from(key.reveal(), 'utf8');
    this.#key = createSecretKey(Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), `${CONTEXT}/aes-256-gcm`, 32)));
    this.#keyId = Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), `${CONTEXT}/key-id`, 6)).toString('base64url');
  }

  issue(claims: Omit<CredentialClaims, 'expiresAt'>, now: number): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(this.#aad());
    const sealed = Buffer.concat([
      iv,
      cipher.update(JSON.stringify({ ...claims, expiresAt: now + this.ttlMs }), 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `${VERSION}.${this.#keyId}.${sealed.toString('base64url')}`;
  }

  /** The claims of a genuine, unexpired id issued for `expected`; otherwise `credential.id_invalid`. */
  verify(
    id: unknown,
    expected: { consoleUser: string; vaultUser: string; endpoint: string },
    now: number,
  ): CredentialClaims {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return reject('malformed');
    const parts = id.split('.');
    // v1 ids were `claims.mac` (two parts): issued before an upgrade, like those of a rotated key.
    if (parts.length === 2) return reject('sealed in an older format (before an upgrade); reopen the list');
    const [version, keyId, body] = parts;
    if (parts.length !== 3 || version !== VERSION || !keyId || !body) return reject('malformed');
    if (keyId !== this.#keyId)
      return reject('sealed with another credentialIdKey (rotated or not shared by every replica)');
    const sealed = Buffer.from(body, 'base64url');
    if (sealed.length <= IV_BYTES + TAG_BYTES) return reject('malformed');
    let claims: CredentialClaims;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(this.#aad());
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      claims = JSON.parse(plain.toString('utf8')) as CredentialClaims;
    } catch {
      return reject('bad seal');
    }
    if (!(claims.expiresAt > now)) return reject('expired');
    if (claims.consoleUser !== expected.consoleUser || claims.vaultUser !== expected.vaultUser)
      return reject('issued to another user');
    if (claims.endpoint !== expected.endpoint) return reject('issued for another endpoint');
    return claims;
  }

  /** The version and key id are authenticated with the claims: neither can be swapped. */
  #aad(): Buffer {
    return Buffer.from(`${CONTEXT}.${this.#keyId}`, 'utf8');
  }
}

/**
 * The digest a credential id is known by in the store (spent ids, the lease it checked out):
 * never the id itself, which a database reader could otherwise present again.
 */
export function credentialKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

function reject(reason: string): never {
  throw new ServiceError(
    'credential.id_invalid',
    'This credential is no longer valid for you on this endpoint; reopen the credential list',
    {
      op: 'broker.credential_id',
      details: { reason },
    },
  );
}

/** The identity a credential id is bound to: username plus security provider (ids differ per provider). */
export function consoleUserKey(user: ConsoleUser): string {
  return `${user.securityProvider?.id ?? user.securityProvider?.name ?? ''}|${user.username.toLowerCase()}`;
}

/** A digest of the normalised endpoint, so an id offered for one endpoint fails on another. */
export function endpointKey(target: VaultTarget): string {
  const canonical = JSON.stringify([[...target.names].sort(), [...target.ips].sort()]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}
