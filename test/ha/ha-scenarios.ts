import type { HaCluster, SettleReport } from './ha-cluster.js';
import { until } from './ha-cluster.js';
import type { HeldLease } from './console-load.js';

/**
 * The faults of the HA campaign, one function each, shared by the suite (which asserts their
 * outcomes) and scripts/bench/ha-campaign.ts (which prints their figures). Each starts three
 * replicas on the cluster, runs console load, injects its fault, and ends with settle().
 */

export type Figures = Record<string, string | number>;

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** Three replicas; the first started is the ECM-active one (the oldest channel). */
async function threeReplicas(c: HaCluster) {
  await c.startReplica();
  await Promise.all([c.startReplica(), c.startReplica()]);
  return c.bySeniority();
}

/** Requests sent at or after `t` and answered before the first one a replica other than `gone` answered. */
function failover(c: HaCluster, t: number, gone: string) {
  const after = c.load.since(t);
  const first = after.find((a) => a.by !== undefined && a.by !== gone && a.kind === 'ok');
  return {
    ms: first ? first.at - t : NaN,
    refused: after.filter((a) => first && a.at <= first.at && a.kind !== 'ok').length,
  };
}

/**
 * (a) The active replica holds leases; Password Safe fails every check-in; consoles release some
 * of its leases (the check-ins are owed, failing); it is killed with SIGKILL; the vault heals. A
 * survivor must end the owed releases as releases and recover the rest.
 */
export async function killMidRelease(
  c: HaCluster,
): Promise<{ releasing: HeldLease[]; settled: SettleReport; figures: Figures }> {
  const [victim] = await threeReplicas(c);
  c.load.start();
  const pinned = await c.load.pin(4);
  c.ps.faults.failNext(Number.MAX_SAFE_INTEGER, 503, { route: 'PUT Requests/checkin' });
  const tried = c.ps.calls('PUT Requests/checkin');
  const releasing = pinned.filter((l) => l.by === victim!.instanceId).slice(0, 2);
  const releases = releasing.map((l) => c.load.release(l));
  await until(
    () => c.ps.calls('PUT Requests/checkin') >= tried + releasing.length,
    'the releases’ check-ins tried (and failed) at the vault',
  );
  const killedAt = Date.now();
  await c.kill(victim!);
  c.ps.faults.clear();
  await Promise.all(releases);
  const owned = [...c.recoverable];
  await until(
    async () => !(await c.db.state.listLeases({ owner: victim!.instanceId })).length,
    'the killed replica’s leases ended by a survivor',
  );
  const recoveredAt = Date.now();
  const gap = failover(c, killedAt, victim!.instanceId);
  const settled = await c.settle();
  return {
    releasing,
    settled,
    figures: {
      'leases of the killed replica': owned.length,
      'leases ended after (s)': seconds(recoveredAt - killedAt),
      'console failover (s)': seconds(gap.ms),
      'refused in failover': gap.refused,
      'vault requests open after': c.openRequests(),
      'sessions stored once': settled.sessions,
    },
  };
}
