import { request, type Dispatcher } from 'undici';
import { transportServiceError } from '../../platform/http/transport-errors.js';
import type { Secret } from '../../platform/secret.js';

export interface TrafficProbe {
  /** `/check_health` answered 200 and, when a token was given, the token was accepted. */
  ok: boolean;
  detail: string;
  /** The node answered but refused the token (401). */
  tokenRefused?: boolean;
}

/**
 * One Atlas traffic node as `check` sees it: the unauthenticated `GET /check_health` (reachable,
 * TLS verified against its public name by the agent), then the token the primary minted on
 * `GET /api/command?action=check_health` (401: the node refuses it; 200 or 403 means the token
 * was accepted, the account merely lacking Command API permission). The token is sent once,
 * never re-minted: `check` mints at most one token per account. Transport failures throw
 * (appliance.tls, appliance.unavailable) naming the node.
 */
export async function probeTrafficNode(
  node: { node: string; origin: string },
  dispatcher: Dispatcher,
  site: string,
  token: Secret | undefined,
  signal?: AbortSignal,
): Promise<TrafficProbe> {
  const label = node.origin === `https://${node.node}` ? node.node : `${node.node} (via ${new URL(node.origin).host})`;
  const get = async (path: string, headers: Record<string, string> = {}) => {
    try {
      const res = await request(`${node.origin}${path}`, { dispatcher, headers, ...(signal ? { signal } : {}) });
      await res.body.dump();
      return res.statusCode;
    } catch (e) {
      throw transportServiceError(e, label, {
        tls: 'appliance.tls',
        invalid: 'appliance.protocol',
        unavailable: 'appliance.unavailable',
        prefix: `site ${site}: `,
        op: 'appliance.traffic_probe',
        details: { site, node: node.node },
      });
    }
  };
  const health = await get('/check_health');
  if (health !== 200) return { ok: false, detail: `${label} answered ${health} to /check_health` };
  if (!token) return { ok: true, detail: `${label} healthy (no API account to test a token with)` };
  const api = await get('/api/command?action=check_health', {
    authorization: `Bearer ${token.reveal()}`,
    connection: 'close',
  });
  if (api === 401)
    return {
      ok: false,
      tokenRefused: true,
      detail: `${label} is healthy but refused the token the primary issued (401)`,
    };
  if (api !== 200 && api !== 403) return { ok: false, detail: `${label} answered ${api} to an authenticated request` };
  return { ok: true, detail: `${label} healthy, TLS verified, token accepted` };
}
