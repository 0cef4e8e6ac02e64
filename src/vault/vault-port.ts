import type { Health } from '../platform/health.js';
import type { Secret } from '../platform/secret.js';

/**
 * What the broker asks of a vault. Every method runs *as* `vaultUser`, so the vault's own
 * permissions decide what that person may see and request. Errors are ServiceErrors with codes
 * `vault.*` (see docs/errors.md). Secrets cross this port only as Secret values.
 */
export interface VaultPort {
  /** Accounts `vaultUser` may request whose system matches the target (local and domain-linked). */
  listAccounts(vaultUser: string, target: VaultTarget, signal?: AbortSignal): Promise<VaultAccount[]>;
  /** Creates (or reuses, per config) a release request and reads the secret. */
  checkout(request: CheckoutRequest, signal?: AbortSignal): Promise<Checkout>;
  /**
   * The id of `vaultUser`'s active release request for this account and release duration, or
   * undefined when there is none: how a checkout whose answer was lost (or whose process died)
   * is found again later, to be checked in.
   */
  findRequest(
    vaultUser: string,
    account: { systemId: number; accountId: number },
    durationMinutes: number,
    signal?: AbortSignal,
  ): Promise<string | undefined>;
  /** Checks a request in. Idempotent: an unknown or already checked-in request is not an error. */
  checkin(vaultUser: string, requestId: string, reason: string, signal?: AbortSignal): Promise<void>;
  /** RDP and SSH systems `vaultUser` may request whose name/host/IP contains `query` (plain, case-insensitive). */
  searchSystems(vaultUser: string, query: string, limit: number, signal?: AbortSignal): Promise<VaultSystem[]>;
  /**
   * Sign-in (as `probeUser` when given) and one lightweight call, in the one health shape
   * (platform/health.ts): undefined when healthy, otherwise the failure (callers branch on its
   * code, never on its text).
   */
  health(probeUser?: string, signal?: AbortSignal): Promise<Health>;
  /** Signs out every pooled session and closes connections. */
  close(): Promise<void>;
}

/** The endpoint as the broker normalised it: lower-case names (short, FQDN, aliases) and bare IPs. */
export interface VaultTarget {
  names: string[];
  ips: string[];
}

export type AccountSource = 'local' | 'domain-linked';

export interface VaultAccount {
  systemId: number;
  systemName: string;
  accountId: number;
  accountName: string;
  domainName?: string;
  source: AccountSource;
  kind: 'password' | 'ssh-key';
  /** Workgroup name of the system (the "Network ID"). */
  workgroup?: string;
  defaultReleaseMinutes?: number;
  maximumReleaseMinutes?: number;
}

export interface CheckoutRequest {
  vaultUser: string;
  account: Pick<VaultAccount, 'systemId' | 'accountId' | 'kind' | 'maximumReleaseMinutes'>;
  durationMinutes: number;
  reason: string;
}

export interface Checkout {
  /** The vault's release request id. */
  requestId: string;
  durationMinutes: number;
  expiresAt: Date;
  password?: Secret;
  privateKey?: Secret;
  passphrase?: Secret;
}

export interface VaultSystem {
  systemId: number;
  name: string;
  hostname: string;
  ip?: string;
  method: 'rdp' | 'ssh';
  port?: number;
  workgroup?: string;
}
