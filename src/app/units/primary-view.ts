import { CommandApiClient } from '../../appliance/api/command-api.js';
import type { PrimaryFollower } from '../../appliance/topology/primary-follower.js';
import type { Clock } from '../../platform/clock.js';
import { isServiceError } from '../../platform/errors.js';
import type { PrimaryView } from '../../reporting/report-source.js';

/** The longest node name kept (the store's column holds 300): an appliance id is the appliance's to choose. */
const MAX_NODE = 300;

/**
 * Who serves a site's reports now, for the failback re-read. With `nodes`, the resolved primary:
 * its origin names it. Without (a shared IP, a DNS swing, NAT: the failover guide's recommended
 * setups), the one address does not change, so `check_health` through the site URL names the
 * appliance behind it (its id, else its hostname) and its role: a failover behind the address
 * shows as another appliance, or as the backup. A Command API call that fails leaves the node
 * unnamed (no change can be seen this pull) rather than failing the pull, which asks the same appliance.
 */
export async function primaryView(
  site: { name: string; url: string; nodes: readonly string[] },
  follower: PrimaryFollower,
  clock: Clock,
  signal?: AbortSignal,
): Promise<PrimaryView> {
  if (site.nodes.length > 0) {
    const t = await follower.refresh(signal);
    return {
      node: t.origin,
      role: t.role ?? 'unknown',
      ...(t.lastDataSyncAt !== undefined ? { lastDataSyncAt: t.lastDataSyncAt } : {}),
      ...(t.lastDataSyncStatus !== undefined ? { lastDataSyncStatus: t.lastDataSyncStatus } : {}),
    };
  }
  const origin = new URL(site.url).origin;
  try {
    const h = await new CommandApiClient({
      baseUrl: origin,
      site: site.name,
      tokens: follower,
      dispatcher: follower.dispatcher,
      clock,
    }).checkHealth(signal);
    const id = h.applianceId ?? h.hostname;
    return {
      node: id === undefined ? origin : `appliance ${id}`.slice(0, MAX_NODE),
      role: h.failoverRole,
      ...(h.lastDataSyncAt !== undefined ? { lastDataSyncAt: h.lastDataSyncAt } : {}),
      ...(h.lastDataSyncStatus !== undefined ? { lastDataSyncStatus: h.lastDataSyncStatus } : {}),
    };
  } catch (e) {
    if (signal?.aborted) throw e;
    const detail = isServiceError(e) ? `[${e.code}] ${e.message}` : 'check_health failed';
    return { role: 'unknown', detail };
  }
}
