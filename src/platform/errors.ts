/**
 * The project's one error type. Callers branch on `code`, never on message text.
 * Vendor errors (undici, mssql, PGlite, ws) are translated into a ServiceError at the adapter
 * edge, keeping the original as `cause` for logs (never for console users).
 *
 * The catalogue below is the single source of docs/errors.md (`npm run docs:errors`);
 * test/unit/platform/errors-doc.test.ts fails when the two drift apart. What a code becomes on
 * the ECM wire is the channel's business (src/appliance/channel/wire-errors.ts): the platform knows no wire.
 */

export type ErrorKind =
  'config' | 'input' | 'auth' | 'permission' | 'not_found' | 'conflict' | 'unavailable' | 'timeout' | 'internal';

interface CatalogueEntry {
  kind: ErrorKind;
  retryable: boolean;
  meaning: string;
  action: string;
}

function entry(kind: ErrorKind, retryable: boolean, meaning: string, action: string): CatalogueEntry {
  return { kind, retryable, meaning, action };
}

export const ERROR_CATALOGUE = {
  // --- configuration -------------------------------------------------------------------------
  'config.invalid': entry(
    'config',
    false,
    'The YAML configuration failed validation (unknown key, wrong type, bad cron expression, unresolvable `env:`/`file:` secret, literal secret).',
    'Run `ecm-bridge config validate FILE`; fix every listed path:line:column (export missing variables, create secret files).',
  ),
  'config.unreadable': entry(
    'config',
    false,
    'The configuration file could not be read or is not valid YAML.',
    'Check the path, permissions and YAML syntax at the reported line.',
  ),
  'config.ca_unreadable': entry(
    'config',
    false,
    'A configured `caFile` (site or vault) cannot be read or holds no PEM certificate.',
    'Point `caFile` at a readable PEM bundle (`-----BEGIN CERTIFICATE-----` blocks) of the issuing CA.',
  ),
  'cli.usage': entry(
    'input',
    false,
    'A command-line argument is missing or malformed.',
    'Run `ecm-bridge --help` or `ecm-bridge COMMAND --help`.',
  ),

  // --- requests from access consoles ---------------------------------------------------------
  'request.bad': entry(
    'input',
    false,
    'A request from the appliance had malformed or missing parameters.',
    'Usually an appliance/bridge version mismatch; check the bridge log for the request id.',
  ),
  'request.too_large': entry(
    'input',
    false,
    'An input (frame, search query, report, payload) exceeded its configured size limit.',
    'Nothing to do for a one-off; raise the limit only if legitimate inputs hit it.',
  ),
  'mapping.unmapped': entry(
    'permission',
    false,
    'No user-mapping rule matched the console user and the default is `deny`.',
    'Add a rule (test it with `ecm-bridge test-settings --user ...`) or set `userMapping.default: passthrough`.',
  ),
  'mapping.denied': entry(
    'permission',
    false,
    'A `deny` user-mapping rule matched the console user.',
    'Intended by the rule named in the message; change the rule if it is wrong.',
  ),
  'policy.denied': entry(
    'permission',
    false,
    'A release policy (ticket pattern, time window, user group) refused the checkout.',
    'The message names the rule; the console user must satisfy it (e.g. enter a ticket in External Key).',
  ),
  'credential.id_invalid': entry(
    'permission',
    false,
    'A credential id was forged, expired, or issued to another user or endpoint.',
    'Ask the console user to reopen the credential list; repeated cases may indicate tampering.',
  ),
  'credential.id_used': entry(
    'permission',
    false,
    'A credential id was used again after its checkout had been checked in (credential ids are single-use).',
    'The console user reopens the credential list for a fresh id; repeated cases may indicate a replayed request.',
  ),
  'credential.not_found': entry(
    'not_found',
    false,
    'No vault account matches the endpoint, or the lease/credential no longer exists.',
    'Check endpoint matching with `ecm-bridge test-settings`; check the account is API-enabled in the vault.',
  ),

  // --- vault -----------------------------------------------------------------------------------
  'vault.unavailable': entry(
    'unavailable',
    true,
    'The vault could not be reached or answered 5xx/429 after bounded retries.',
    'Check vault health and network path; the bridge retries on the next request.',
  ),
  'vault.auth_failed': entry(
    'auth',
    false,
    'The vault refused sign-in (bad API key, unknown run-as user, source address not allowed, OAuth client invalid).',
    'Check the API registration, its user groups and allowed source addresses, and the mapped vault user.',
  ),
  'vault.forbidden': entry(
    'permission',
    false,
    'The vault user lacks permission for the account or system (Password Safe 403 4031/4033).',
    "Grant the vault user's group access to the managed account, or fix the user mapping.",
  ),
  'vault.approval_pending': entry(
    'permission',
    true,
    'The release request exists but waits for approval (Password Safe 403 4034).',
    'An approver must approve the request in Password Safe; the console user can retry afterwards.',
  ),
  'vault.conflict': entry(
    'conflict',
    false,
    'The vault user already holds a request for the account and the conflict option forbids reuse (409).',
    'Set `vault.conflictOption` to `reuse` or `renew`, or check in the existing request.',
  ),
  'vault.rejected': entry(
    'input',
    false,
    'The vault rejected a request as invalid (4xx other than auth/permission), e.g. a duration above the maximum.',
    'Read the vault message in the bridge log; adjust the release duration or account settings.',
  ),
  'vault.tls': entry(
    'config',
    false,
    'TLS verification of the vault failed (unknown CA, hostname mismatch, expired certificate).',
    'Add the CA that issued the Password Safe certificate to `vault.caFile`; there is no switch to disable verification.',
  ),
  'vault.request_invalid': entry(
    'input',
    false,
    'A request to the vault could not be built: a value (usually the mapped vault user in the PS-Auth header) has a character an HTTP header cannot carry. Nothing was sent.',
    'Fix the user-mapping rule or the configured value named in the message.',
  ),
  'vault.protocol': entry(
    'internal',
    false,
    'The vault answered something the adapter could not interpret.',
    'Check the vault version against docs/compatibility.md; report it with the bridge log.',
  ),

  // --- appliance -------------------------------------------------------------------------------
  'appliance.auth_failed': entry(
    'auth',
    false,
    'The appliance refused the OAuth client credentials (401 on /oauth2/token).',
    'Check the API account client id/secret; regenerating the secret invalidates the old one.',
  ),
  'appliance.permission_missing': entry(
    'permission',
    false,
    'The API account lacks a permission (ECM access, reporting, command API).',
    'In /login > Management > API Configuration, grant the permission named in the message.',
  ),
  'appliance.xml_api_disabled': entry(
    'permission',
    false,
    'The site refuses the Command and Reporting APIs for every account: "Enable XML API" is off (403 on get_api_info, which needs no permission, or an error naming the XML API).',
    'In /login > Management > API Configuration, tick "Enable XML API" and save.',
  ),
  'appliance.unavailable': entry(
    'unavailable',
    true,
    'The appliance could not be reached, is not primary, or answered 5xx/429.',
    'Check network/DNS to the site and the appliance health; the bridge backs off and retries.',
  ),
  'appliance.tls': entry(
    'config',
    false,
    'TLS verification of the appliance failed (unknown CA, hostname mismatch, expired certificate). Earlier versions also used it for the vault (now `vault.tls`) and for an unreadable `caFile` (now `config.ca_unreadable`).',
    'Add the issuing CA to the site `caFile`; there is no switch to disable verification.',
  ),
  'appliance.protocol': entry(
    'internal',
    false,
    'The appliance sent a frame or response that breaks the protocol (bad JSON, unsupported version).',
    'Check that the appliance and bridge protocol versions match; see the close code in the log.',
  ),
  'appliance.api_error': entry(
    'internal',
    false,
    'A Command or Reporting API call answered an <error> document or a non-200 status.',
    'Read the appliance message in the log (it names the report and window).',
  ),
  // --- proxy (sites[].proxy, vault.proxy) ------------------------------------------------------
  'proxy.refused': entry(
    'config',
    false,
    'The configured CONNECT proxy refused the tunnel to the appliance or vault (403 or another non-200 answer to CONNECT); the target was never reached.',
    'Allow CONNECT to the host:port named in the message on the proxy, or list the host in `proxy.noProxy` if it must not go through the proxy.',
  ),
  'proxy.auth_failed': entry(
    'config',
    false,
    'The configured CONNECT proxy refused the proxy credentials (407 Proxy Authentication Required).',
    'Check `proxy.username` and `proxy.password` (the secret the proxy expects); the message names the proxy.',
  ),
  'proxy.unreachable': entry(
    'unavailable',
    true,
    'The configured CONNECT proxy is not answering (connection refused, host unreachable, no answer to CONNECT in time).',
    'Start or fix the proxy named in the message, or correct `proxy.url`; the bridge retries.',
  ),
  'proxy.unresolvable': entry(
    'unavailable',
    true,
    "The configured CONNECT proxy's host name does not resolve.",
    "Fix `proxy.url` or this host's DNS; the bridge retries.",
  ),

  'channel.closed': entry(
    'unavailable',
    true,
    'The ECM channel closed while a request was in flight; the request was failed explicitly.',
    'Nothing: the channel reconnects with backoff and the console may retry.',
  ),

  'channel.overloaded': entry(
    'unavailable',
    true,
    'More console requests arrived than the ECM channel may handle and queue at once; the newest were refused.',
    'Raise `sites[].ecm.maxConcurrentRequests` if the vault can take it, or add vault capacity.',
  ),

  // --- reporting -------------------------------------------------------------------------------
  'report.xml_invalid': entry(
    'input',
    false,
    'A report from the Reporting API is not well-formed XML or not a report at all; the batch was not written. (One session element that fails validation is quarantined instead, see docs/reporting.md.)',
    'The cursor did not move; inspect the saved report with `ecm-bridge report parse FILE`.',
  ),

  'report.incomplete': entry(
    'unavailable',
    true,
    'A full-session report left out sessions its listing named, and a new listing still names them; the batch was not written.',
    'Nothing at first: the cursor did not move and the next run asks again. If it persists, compare the listing and the lsids report for the sessions named in the log.',
  ),

  'report.recording_host_refused': entry(
    'config',
    false,
    "A recording URL in a report, or a redirect while downloading a recording, names a host outside the site's cluster (site URL, `nodes`, `atlas.trafficNodes` and their `atlas.hostMap` names); it was not contacted, so the reporting token never left the cluster. The session itself is stored.",
    'If the host is an Atlas traffic node, add it to `sites[].atlas.trafficNodes` (and `atlas.hostMap` when reached by an internal name); the file is owed, and fetched by its next retry after the reload (docs/operations.md, "Runbook: missing recordings").',
  ),

  'report.leader_lost': entry(
    'conflict',
    false,
    "This replica's term as reporting leader ended (it stopped renewing its lease for longer than `reporting.leaderLeaseSeconds`: hung, paused or cut off from the database, and another replica took the lease); its batch was not written and it stepped down.",
    'Nothing: the new leader pulls from the committed cursor. If it recurs, look for what stalls this replica (CPU, database latency) or raise `reporting.leaderLeaseSeconds`.',
  ),

  'report.recording_limit': entry(
    'timeout',
    false,
    'A recording file was larger than `reporting.recordings.maxMegabytes`, or its download did not finish within `reporting.recordings.timeoutSeconds` (a node trickling bytes); it was abandoned and its partial file removed. The session itself is stored.',
    'If the recordings are legitimately that large or the link that slow, raise the limit; the file is fetched again when its session is re-read (the overlap, `ecm-bridge report backfill`). Otherwise check the traffic node.',
  ),

  // --- store -----------------------------------------------------------------------------------
  'store.unavailable': entry(
    'unavailable',
    true,
    'The database could not be reached or a transient error persisted after retries.',
    'Check the database server, credentials and network; the worker retries on its next run.',
  ),
  'store.migration_failed': entry(
    'internal',
    false,
    'A schema migration failed; the database stays at the previous version.',
    'Run `ecm-bridge db migrate` by hand and read the error; review with `db print-sql`.',
  ),
  'store.write_failed': entry(
    'internal',
    false,
    'A write was rejected by the database (constraint, type, size); the transaction was rolled back.',
    'Report it with the log line; no partial data was written.',
  ),
  'store.fenced': entry(
    'unavailable',
    true,
    'This replica was presumed dead (silent longer than staleAfterSeconds) and fenced by another, which took over its leases; the write was refused and nothing changed.',
    'Nothing for the console: ask again (another replica, or this one under its new epoch, answers). Look for what froze the replica (a paused VM, a stalled event loop).',
  ),

  // --- process ---------------------------------------------------------------------------------
  'service.shutting_down': entry(
    'unavailable',
    true,
    'The bridge, or a part of it being replaced by a configuration reload, is stopping and takes no new work.',
    'Nothing: another replica or the restarted process answers.',
  ),
  'service.timeout': entry(
    'timeout',
    true,
    'An operation did not finish before its deadline.',
    'Check the latency of the vault/appliance/database named in the log.',
  ),
  internal: entry(
    'internal',
    false,
    'An unexpected error; the details are in the bridge log, never shown to console users.',
    'Report it with the log line (it carries the request id).',
  ),
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ServiceErrorOptions {
  /** The operation that failed, e.g. `vault.checkout` or `config.load`. */
  op?: string;
  cause?: unknown;
  /** Structured, secret-free facts for logs (site, window, path, ...). */
  details?: Record<string, unknown>;
}

export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly op: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  /** `message` must be safe to show to a console user: no secret, no stack, no session id. */
  constructor(code: ErrorCode, message: string, options: ServiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const e: CatalogueEntry = ERROR_CATALOGUE[code];
    this.name = 'ServiceError';
    this.code = code;
    this.kind = e.kind;
    this.retryable = e.retryable;
    this.op = options.op;
    this.details = options.details;
  }
}

export function isServiceError(e: unknown, code?: ErrorCode): e is ServiceError {
  return e instanceof ServiceError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a ServiceError; unknown errors become `internal` with a generic message. */
export function toServiceError(e: unknown, op?: string): ServiceError {
  if (e instanceof ServiceError) return e;
  return new ServiceError('internal', 'internal error', { op, cause: e });
}
