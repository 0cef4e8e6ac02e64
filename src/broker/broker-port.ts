/**
 * The broker's inbound port, in the broker's own vocabulary. Transports (today the ECM channel,
 * src/appliance) validate what they receive and convert it to these types; the broker never sees
 * a wire frame, and a secret stays a `Secret` until the transport serialises its answer.
 */
import type { Secret } from '../platform/secret.js';

export interface ConsoleUser {
  id?: number;
  /** As the appliance sends it: `CORP\jdoe`, `jdoe@corp.example.com`, `jdoe`. Never empty. */
  username: string;
  displayName?: string;
  securityProvider?: { id?: number; name?: string; kind?: string };
  email?: string;
}

export interface Endpoint {
  hostname?: string;
  fqdn?: string;
  /** May carry a port: "10.0.4.17:3389", "[2001:db8::1]:22". */
  ip?: string;
  publicIp?: string;
  os?: string;
}

export interface JumpItemRef {
  id?: number;
  name?: string;
  type?: string;
  networkId?: string;
  jumpGroup?: { id?: number; name?: string; type?: string };
}

/** Who asks, from where, about what: one console request, already validated and bounded. */
export interface ConsoleRequest {
  /** The site the request came from (recorded on leases and audit rows). */
  site: string;
  user: ConsoleUser;
  endpoint?: Endpoint;
  jumpItem?: JumpItemRef;
  session?: { lsid?: string; externalKey?: string };
}

export type CredentialKind = 'password' | 'ssh-key';
export type CredentialSource = 'local' | 'domain-linked' | 'alias';

export interface OfferedCredential {
  /** Signed, opaque, bound to the console user, vault user and endpoint. */
  id: string;
  displayName: string;
  username: string;
  domain?: string;
  kind: CredentialKind;
  source: CredentialSource;
}

/** A checked-out credential. The secrets stay wrapped until the transport writes its answer. */
export interface IssuedCredential {
  id: string;
  username: string;
  domain?: string;
  password?: Secret;
  privateKey?: Secret;
  passphrase?: Secret;
  leaseId: string;
  expiresAt: Date;
}

export interface JumpTarget {
  id: string;
  name: string;
  hostname: string;
  ip?: string;
  method: 'rdp' | 'ssh';
  port?: number;
  networkId?: string;
  comment?: string;
  status?: string;
  lastAccessed?: string;
}

/** Why the bridge itself checked in a credential its console had not released. */
export type BridgeCheckin = 'expiry' | 'recovery' | 'shutdown';

/**
 * What a release found. Empty when this release checked the credential in, or an earlier release
 * of the same console did (a repeat is idempotent), or the lease id is unknown.
 * `alreadyCheckedIn`: the bridge had ended the checkout before, behind the console's back (its
 * expiry, the recovery of a replica presumed dead, a shutdown), since `at`; `at` is absent while
 * that check-in is still under way (owed, the vault has not confirmed it yet).
 */
export interface ReleaseOutcome {
  alreadyCheckedIn?: { reason: BridgeCheckin; at?: Date };
}

/**
 * What a transport asks of the credential broker. Each method resolves with its answer or
 * throws a ServiceError whose code the transport maps to its own error vocabulary; `signal`
 * aborts when the request's deadline passes or the transport shuts down.
 */
export interface CredentialBroker {
  list(request: ConsoleRequest, purpose: 'login' | 'run-as', signal: AbortSignal): Promise<OfferedCredential[]>;
  get(request: ConsoleRequest, credentialId: string, signal: AbortSignal): Promise<IssuedCredential>;
  /** Idempotent: a lease already checked in is fine, and the outcome says who had checked it in. */
  release(request: ConsoleRequest, ref: { leaseId?: string; credentialId?: string }): Promise<ReleaseOutcome>;
  search(request: ConsoleRequest, query: string, limit: number | undefined, signal: AbortSignal): Promise<JumpTarget[]>;
  /**
   * The domain event "answer not delivered": `answer`, which `get` resolved with, never reached
   * the console (the transport's deadline passed, its channel closed or the send failed). The
   * broker undoes the checkout it made. Never throws.
   */
  undelivered(answer: IssuedCredential): Promise<void>;
}
