/**
 * Types of the ECM channel, protocol version 1 (docs/protocol.md).
 * A leaf module: shared by the bridge's channel client and the appliance simulator, so the two
 * ends cannot drift apart. The broker never sees these types; src/appliance/broker-mapper.ts
 * converts them to the broker's own. What the appliance sends is typed from the schemas that
 * validate it (ecm-schemas.ts); what the bridge sends is declared here.
 */
import type { z } from 'zod';
import type {
  consoleUserSchema,
  getParamsSchema,
  listParamsSchema,
  releaseParamsSchema,
  requestContextSchema,
  searchParamsSchema,
} from './ecm-schemas.js';

/** What the ECM channel answers a console with (spec, "Error codes"). */
export type WireCode =
  | 'bad_request'
  | 'forbidden'
  | 'not_found'
  | 'unmapped_user'
  | 'vault_unavailable'
  | 'vault_error'
  | 'approval_pending'
  | 'conflict'
  | 'timeout'
  | 'internal';

export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 1024 * 1024;

export const OPS = ['credentials.list', 'credentials.get', 'credentials.release', 'jump.search'] as const;
export type Op = (typeof OPS)[number];

export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  badFrame: 1007,
  tooBig: 1009,
  unsupportedProtocol: 4400,
  tokenExpired: 4401,
  notPermitted: 4403,
  replaced: 4409,
} as const;

// --- what the appliance sends ------------------------------------------------------------------
// Described once, by the zod schemas that validate them (ecm-schemas.ts): these are the shapes an
// appliance may send (`z.input`: before defaults apply).

export type ConsoleUser = z.input<typeof consoleUserSchema>;
export type RequestContext = z.input<typeof requestContextSchema>;

/**
 * The Jump Item types the appliance documents. The schema takes any short string (a later
 * appliance may add types): this list is for the tools that build requests.
 */
export type JumpItemType = 'jump-client' | 'rdp' | 'ssh' | 'vnc' | 'web' | 'protocol-tunnel' | 'shell';

// --- operation params and results --------------------------------------------------------------

export type ListParams = z.input<typeof listParamsSchema>;
export type GetParams = z.input<typeof getParamsSchema>;
export type ReleaseParams = z.input<typeof releaseParamsSchema>;
export type SearchParams = z.input<typeof searchParamsSchema>;

export type CredentialKind = 'password' | 'ssh-key';
export type CredentialSource = 'local' | 'domain-linked' | 'alias';

export interface OfferedCredential {
  id: string;
  displayName: string;
  username: string;
  domain?: string;
  kind: CredentialKind;
  source: CredentialSource;
}

export interface InjectedCredential {
  id: string;
  username: string;
  domain?: string;
  password?: string;
  privateKey?: string;
  passphrase?: string;
  leaseId: string;
  /** ISO-8601 UTC. */
  expiresAt: string;
}

export interface JumpSearchItem {
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

/**
 * `released` is always true (a release is idempotent, as the specification requires).
 * `alreadyCheckedIn` (an additive field; an appliance that does not know it ignores it): the
 * bridge had checked the credential in before this release, for `reason`, at `at` (ISO-8601 UTC;
 * absent while that check-in is still under way). Absent when this release, or an earlier one of
 * the same console, checked it in, and for an unknown lease id.
 */
export interface ReleaseResult {
  released: true;
  alreadyCheckedIn?: { reason: 'expiry' | 'recovery' | 'shutdown'; at?: string };
}

export interface OpParams {
  'credentials.list': ListParams;
  'credentials.get': GetParams;
  'credentials.release': ReleaseParams;
  'jump.search': SearchParams;
}

export interface OpResults {
  'credentials.list': { credentials: OfferedCredential[] };
  'credentials.get': { credential: InjectedCredential };
  'credentials.release': ReleaseResult;
  'jump.search': { items: JumpSearchItem[] };
}

// --- frames ------------------------------------------------------------------------------------
// The frames the bridge builds or reads as a whole; the role, ping, pong and request frames are
// read field by field (request frames through ecm-schemas.ts). All of them: docs/protocol.md.

export interface HelloFrame {
  type: 'hello';
  protocol: number;
  ecm: { name: string; version: string; instanceId: string; host: string };
  capabilities: Op[];
  /**
   * The heartbeat the ECM asks for (seconds, at least 1): the appliance uses the shorter of it and
   * its own, and says which in the welcome, so a frozen ECM is noticed within three of them.
   */
  heartbeatSeconds?: number;
}

export interface WelcomeFrame {
  type: 'welcome';
  protocol: number;
  site: { hostname: string; applianceId: string; product: 'pra' | 'rs'; version: string };
  group: string;
  role: 'active' | 'standby';
  heartbeatSeconds: number;
  maxRequestMs: number;
}

export interface WireError {
  code: WireCode;
  message: string;
  retryable: boolean;
}

export type ResponseFrame =
  { type: 'response'; id: string; result: OpResults[Op] } | { type: 'response'; id: string; error: WireError };
