import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
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
const CONTEXT = 'ecm-bridge/credential-id/v1.';

/**
 * Signs and verifies credential ids: `base64url(claims).base64url(HMAC-SHA256(key, context+claims))`.
 * An id is bound to the console user, the vault user, the endpoint and the account and expires
 * after `ttlMs`; the appliance treats it as opaque and cannot alter any of it without the key.
 */
export class CredentialIdSigner {
  /** Imported once: handing HMAC the raw key imports it again on every id (a list signs one per account). */
  readonly #key: KeyObject;

  constructor(
    key: Secret,
    private readonly ttlMs: number,
  ) {
    this.#key = createSecretKey(Buffer.from(key.reveal(), 'utf8'));
  }

  issue(claims: Omit<CredentialClaims, 'expiresAt'>, now: number): string {
    const body = Buffer.from(JSON.stringify({ ...claims, expiresAt: now + this.ttlMs })).toString('base64url');
    return `${body}.${this.#mac(body).toString('base64url')}`;
  }

  /** The claims of a genuine, unexpired id issued for `expected`; otherwise `credential.id_invalid`. */
  verify(
    id: unknown,
    expected: { consoleUser: string; vaultUser: string; endpoint: string },
    now: number,
  ): CredentialClaims {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return reject('malformed');
    const [body, mac, extra] = id.split('.');
    if (!body || !mac || extra !== undefined) return reject('malformed');
    const given = Buffer.from(mac, 'base64url');
    const wanted = this.#mac(body);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return reject('bad signature');
    let claims: CredentialClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as CredentialClaims;
    } catch {
      return reject('malformed');
    }
    if (!(claims.expiresAt > now)) return reject('expired');
    if (claims.consoleUser !== expected.consoleUser || claims.vaultUser !== expected.vaultUser)
      return reject('issued to another user');
    if (claims.endpoint !== expected.endpoint) return reject('issued for another endpoint');
    return claims;
  }

  #mac(body: string): Buffer {
    return createHmac('sha256', this.#key).update(CONTEXT).update(body).digest();
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
