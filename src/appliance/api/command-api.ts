import { XMLParser } from 'fast-xml-parser';
import { request, type Dispatcher } from 'undici';
import type { Clock } from '../../platform/clock.js';
import { ServiceError } from '../../platform/errors.js';
import { withBearer } from '../../platform/http/bearer.js';
import { TransientFailure, withRetries, type RetryPolicy } from '../../platform/http/retry.js';
import { parseRetryAfter } from '../../platform/http/retry-after.js';
import { RETRYABLE_STATUS, transientCode } from '../../platform/http/transport-errors.js';
import type { AccessTokenProvider } from './access-token.js';
import { transportError, unavailable } from './token-source.js';
import { mentionsXmlApi, xmlApiDisabled } from './xml-api.js';

export type FailoverRole = 'none' | 'primary' | 'backup';

export interface ApplianceHealth {
  applianceId?: string;
  hostname?: string;
  version?: string;
  success: boolean;
  errorMessage?: string;
  failoverRole: FailoverRole;
  /** Unix ms of the last failover data sync (absent without failover). */
  lastDataSyncAt?: number;
  lastDataSyncStatus?: string;
}

export interface ApiInfo {
  apiVersion?: string;
  /** Permission name -> value, e.g. `perm_ecm: "1"`, `perm_command: "read_only"`. */
  permissions: Record<string, string>;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
});

type Node = Record<string, unknown>;
const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : v && typeof v === 'object' ? ((v as Node)['#text'] as string | undefined) : undefined;
const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The document's root element (whatever its name and namespace); throws on `<error>` documents. */
function root(xml: string, what: string): Node {
  let doc: Node;
  try {
    doc = parser.parse(xml) as Node;
  } catch (e) {
    throw new ServiceError('appliance.protocol', `${what}: the answer is not XML`, {
      op: 'appliance.command',
      cause: e,
    });
  }
  const name = Object.keys(doc).find((k) => k !== '?xml');
  const el = name === undefined ? undefined : doc[name];
  if (name === undefined)
    throw new ServiceError('appliance.protocol', `${what}: empty XML document`, { op: 'appliance.command' });
  const err = name === 'error' ? el : (el as Node | undefined)?.error;
  if (err !== undefined)
    throw new ServiceError(
      'appliance.api_error',
      `${what}: the appliance answered an error: ${text(err) ?? '(no text)'}`,
      { op: 'appliance.command' },
    );
  return (el && typeof el === 'object' ? el : {}) as Node;
}

/** Parses `check_health` by element name under any root element and namespace. */
export function parseCheckHealth(xml: string): ApplianceHealth {
  const r = root(xml, 'check_health');
  const role = text(r.failover_role);
  const sync = r.last_data_sync_time as Node | string | undefined;
  const ts = typeof sync === 'object' ? Number(sync['@ts']) : NaN;
  const appliance = r.appliance as Node | string | undefined;
  return {
    applianceId: typeof appliance === 'object' ? (appliance['@id'] as string | undefined) : undefined,
    hostname: text(appliance),
    version: text(r.version),
    success: text(r.success) === '1',
    errorMessage: text(r.error_message),
    failoverRole: role === 'primary' || role === 'backup' ? role : 'none',
    lastDataSyncAt: Number.isFinite(ts) ? ts * 1000 : undefined,
    lastDataSyncStatus: text(r.last_data_sync_status),
  };
}

/**
 * Parses `get_api_info`. Permissions are accepted as `<permission><name/><value/></permission>`,
 * as `<permission name=".." value=".."/>` or as `<perm_x>v</perm_x>` children of `permissions`.
 */
export function parseApiInfo(xml: string): ApiInfo {
  const r = root(xml, 'get_api_info');
  const permissions: Record<string, string> = {};
  for (const block of list(r.permissions)) {
    if (!block || typeof block !== 'object') continue;
    for (const [key, value] of Object.entries(block as Node)) {
      if (key === 'permission') {
        for (const p of list(value)) {
          const n = p as Node;
          const name = text(n.name) ?? (n['@name'] as string | undefined);
          const val = text(n.value) ?? (n['@value'] as string | undefined) ?? '';
          if (name) permissions[name] = val;
        }
      } else if (!key.startsWith('@')) {
        permissions[key] = text(value) ?? '';
      }
    }
  }
  return { apiVersion: text(r.api_version), permissions };
}

export interface CommandApiOptions {
  baseUrl: string;
  site: string;
  tokens: AccessTokenProvider;
  dispatcher: Dispatcher;
  clock: Clock;
  /** Retries of a call that met a network failure or 408/429/5xx (default COMMAND_API_RETRIES). */
  retries?: RetryPolicy;
  /** Jitter source (tests pin it). */
  random?: () => number;
}

/**
 * Few and short: every caller has a loop or a person of its own (the link's reconnect backoff,
 * `ecm-bridge check`), so a Command API call only rides out a blip.
 */
export const COMMAND_API_RETRIES: RetryPolicy = { max: 2, baseDelayMs: 250, maxDelayMs: 2_000 };

/**
 * The XML Command API calls the bridge needs (GETs, so safe to resend): the shared
 * `withRetries` and `withBearer` (one re-mint on 401). Its own classification: 403 is a missing
 * perm_command, an `<error>` document is `appliance.api_error`.
 */
export class CommandApiClient {
  constructor(private readonly o: CommandApiOptions) {}

  async checkHealth(signal?: AbortSignal): Promise<ApplianceHealth> {
    return parseCheckHealth(await this.#call('check_health', signal));
  }

  async apiInfo(signal?: AbortSignal): Promise<ApiInfo> {
    return parseApiInfo(await this.#call('get_api_info', signal));
  }

  #call(action: string, signal?: AbortSignal): Promise<string> {
    const op = `appliance.${action}`;
    return withRetries(() => this.#once(action, signal), {
      policy: this.o.retries ?? COMMAND_API_RETRIES,
      clock: this.o.clock,
      ...(signal ? { signal } : {}),
      ...(this.o.random ? { random: this.o.random } : {}),
      giveUp: (f) =>
        f.status === undefined
          ? transportError(f.cause, this.o.baseUrl, this.o.site, op)
          : unavailable(this.o.site, op, f.status, f.retryAfterMs),
    });
  }

  async #once(action: string, signal?: AbortSignal): Promise<string> {
    const op = `appliance.${action}`;
    const send = async (authorization: string) => {
      try {
        return await request(`${this.o.baseUrl}/api/command?action=${action}`, {
          dispatcher: this.o.dispatcher,
          signal,
          headers: { authorization, accept: 'application/xml' },
        });
      } catch (e) {
        if (signal?.aborted || transientCode(e)) throw e; // withRetries decides
        throw transportError(e, this.o.baseUrl, this.o.site, op);
      }
    };
    const res = await withBearer(this.o.tokens, send, (r) => r.statusCode === 401, signal);
    const body = await res.body.text();
    if (res.statusCode === 401)
      throw new ServiceError(
        'appliance.auth_failed',
        `site ${this.o.site}: ${action} refused a freshly minted token (401)`,
        {
          op,
        },
      );
    if (res.statusCode === 403) {
      // get_api_info needs no permission: refused, the whole XML API is off, not one permission.
      if (action === 'get_api_info' || mentionsXmlApi(body)) throw xmlApiDisabled(this.o.site, op);
      throw new ServiceError(
        'appliance.permission_missing',
        `site ${this.o.site}: the API account lacks Command API permission (perm_command) needed for ${action}`,
        { op, details: { permission: 'perm_command' } },
      );
    }
    if (RETRYABLE_STATUS.has(res.statusCode))
      throw new TransientFailure(`HTTP ${res.statusCode}`, {
        status: res.statusCode,
        retryAfterMs: parseRetryAfter(res.headers['retry-after'], this.o.clock.now()),
      });
    if (res.statusCode !== 200) {
      root(body, action); // surfaces an <error> text when there is one
      throw new ServiceError('appliance.api_error', `site ${this.o.site}: ${action} answered ${res.statusCode}`, {
        op,
      });
    }
    return body;
  }
}

/**
 * Unauthenticated `GET /check_health` of one node: 200 healthy, anything else not. `error` is the
 * classified failure when the node could not be asked (TLS, proxy, network).
 */
export async function probeNode(
  origin: string,
  dispatcher: Dispatcher,
  site: string,
  signal?: AbortSignal,
): Promise<{ healthy: boolean; detail: string; error?: ServiceError }> {
  try {
    const res = await request(`${origin}/check_health`, { dispatcher, signal });
    await res.body.dump();
    return { healthy: res.statusCode === 200, detail: `${new URL(origin).host} answered ${res.statusCode}` };
  } catch (e) {
    const error = transportError(e, origin, site, 'appliance.probe');
    return { healthy: false, detail: error.message, error };
  }
}
