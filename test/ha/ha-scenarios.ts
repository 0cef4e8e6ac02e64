import { request } from 'undici';
import type { HaCluster, Replica, SettleReport } from './ha-cluster.js';
import { until } from './ha-cluster.js';
import { LEASES } from './replica-config.js';
import type { Answer, HeldLease } from './console-load.js';

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

/** How long the database outage lasts (HA_OUTAGE_SECONDS, default 30 s as in the campaign). */
const OUTAGE_SECONDS = Number(process.env.HA_OUTAGE_SECONDS ?? 30);

const heartbeatFailures = (r: Replica) => (r.output().match(/"task":"heartbeat"/g) ?? []).length;

/** How console requests sent in [from, to) were answered, per operation. */
function tally(c: HaCluster, from: number, to: number) {
  const out: Record<string, Record<string, number>> = {};
  for (const a of c.load.since(from).filter((x) => x.sentAt < to)) {
    const t = (out[a.op] ??= { ok: 0, retryable: 0, refused: 0 });
    t[a.kind] = (t[a.kind] ?? 0) + 1;
    if (a.code) t[a.code] = (t[a.code] ?? 0) + 1;
  }
  return out;
}

/**
 * (b) The database goes away for every replica at once (the TCP relay to it is cut) for
 * OUTAGE_SECONDS, longer than `staleAfterSeconds`, under console load; consoles hold
 * credentials through it and release one issued by the active replica during it. Nobody may
 * recover anybody after it (a silence every replica shared proves nothing).
 */
export async function databaseOutage(c: HaCluster): Promise<{
  during: ReturnType<typeof tally>;
  readyz: { status: number; body: string };
  releasedDuring: Answer;
  settled: SettleReport;
  figures: Figures;
}> {
  const replicas = await threeReplicas(c);
  const [active] = replicas;
  c.load.start();
  const pinned = await c.load.pin(4);
  const failedBefore = replicas.map(heartbeatFailures);
  const cutAt = Date.now();
  c.relay.cut();
  // The outage is the fault's length (an input), and lasts until every replica saw it.
  await until(
    () => replicas.every((r, i) => heartbeatFailures(r) > failedBefore[i]!),
    'every replica’s heartbeat failing',
  );
  const res = await request(`http://127.0.0.1:${active!.httpPort}/readyz`);
  const readyz = { status: res.statusCode, body: await res.body.text() };
  const mine = pinned.find((l) => l.by === active!.instanceId)!;
  const releasedDuring = await c.load.release(mine);
  await until(
    () => Date.now() - cutAt >= Math.max(OUTAGE_SECONDS, 2 * LEASES.staleAfterSeconds) * 1000,
    `the outage’s ${OUTAGE_SECONDS} s`,
  );
  const healedAt = Date.now();
  c.relay.heal();
  const during = tally(c, cutAt, healedAt);
  await until(() => c.load.since(healedAt, 'get').some((a) => a.kind === 'ok'), 'a checkout answered after the outage');
  const getsBackMs = c.load.since(healedAt, 'get').find((a) => a.kind === 'ok')!.at - healedAt;
  // Every replica has had the database long enough to judge the others, and swept since.
  await until(
    () => c.heardSince(healedAt + (LEASES.staleAfterSeconds + 3 * LEASES.sweepIntervalSeconds) * 1000),
    'every replica heard from past its judging window after the outage',
  );
  const settled = await c.settle();
  const n = (op: string, k: Answer['kind']) => during[op]?.[k] ?? 0;
  if (process.env.HA_KEEP_LOGS) console.info(c.dump(), JSON.stringify(during));
  return {
    during,
    readyz,
    releasedDuring,
    settled,
    figures: {
      'outage (s)': seconds(healedAt - cutAt),
      'lists served / refused': `${n('list', 'ok')} / ${n('list', 'retryable') + n('list', 'refused')}`,
      'gets served / refused retryable / refused': `${n('get', 'ok')} / ${n('get', 'retryable')} / ${n('get', 'refused')}`,
      'releases served / retryable / refused': `${n('release', 'ok')} / ${n('release', 'retryable')} / ${n('release', 'refused')}`,
      'checkouts again after (s)': seconds(getsBackMs),
      'leases recovered': settled.recovered,
      'vault requests open after': c.openRequests(),
      'sessions stored once': settled.sessions,
    },
  };
}

/**
 * (c) The ECM-active replica is frozen with SIGSTOP under console load, and with it the reporting
 * leader held mid-pull (its Reporting API request waits; the same process or another), for longer
 * than `staleAfterSeconds`: the appliance routes to the next replica, a standby takes the
 * reporting leadership, a survivor fences the frozen replicas and recovers their leases (the
 * documented rule: frozen that long is dead). Resumed with SIGCONT, each says it was fenced and
 * rejoins; the old leader's late commit writes nothing.
 */
export async function freezeActive(c: HaCluster): Promise<{
  fencedSaid: boolean[];
  settled: SettleReport;
  figures: Figures;
}> {
  const [active] = await threeReplicas(c);
  c.load.start();
  await c.load.pin(3);
  c.reports.hold();
  await until(async () => c.reports.waiting > 0 && (await c.leader()) !== undefined, 'a reporting leader mid-pull');
  const before = (await c.leader())!;
  const leader = c.replicas.find((r) => r.pid === before.pid)!;
  const frozen = [...new Set([active!, leader])];
  const stoppedAt = Date.now();
  for (const r of frozen) r.kill('SIGSTOP');
  for (const r of frozen)
    for (const l of await c.db.state.listLeases({ owner: r.instanceId })) c.recoverable.add(l.leaseId);
  c.reports.open();
  await until(
    () => c.load.since(stoppedAt).some((a) => a.kind === 'ok' && a.by !== undefined && a.by !== active!.instanceId),
    'a console request answered by another replica',
  );
  const gap = failover(c, stoppedAt, active!.instanceId);
  await until(async () => {
    const now = await c.leader();
    return now !== undefined && now.epoch > before.epoch && !frozen.some((r) => r.pid === now.pid);
  }, 'the reporting leadership taken by a running replica');
  const takenMs = Date.now() - stoppedAt;
  await until(async () => {
    for (const r of frozen) if ((await c.db.state.listLeases({ owner: r.instanceId })).length > 0) return false;
    return true;
  }, 'the frozen replicas fenced and their leases recovered');
  const recoveredMs = Date.now() - stoppedAt;
  const resumedAt = Date.now();
  for (const r of frozen) r.kill('SIGCONT');
  const fencedSaid = await Promise.all(
    frozen.map((r) =>
      r.waitFor(/presumed dead and fenced by another/).then(
        () => true,
        () => false,
      ),
    ),
  );
  await until(
    () => frozen.every((r) => c.appliance.hub.connections().some((x) => x.instanceId === r.instanceId)),
    'the resumed replicas back in the ECM group',
  );
  // Traffic after the resume, on whichever replica the appliance picks.
  await until(
    () => c.load.since(resumedAt, 'get').filter((a) => a.kind === 'ok').length >= 3,
    'checkouts after the resume',
  );
  const settled = await c.settle();
  return {
    fencedSaid,
    settled,
    figures: {
      'frozen replicas': frozen.length,
      'console failover (s)': seconds(gap.ms),
      'refused in failover': gap.refused,
      'leader takeover (s)': seconds(takenMs),
      'leases recovered after (s)': seconds(recoveredMs),
      'leases recovered': settled.recovered,
      'vault requests open after': c.openRequests(),
      'sessions stored once': settled.sessions,
    },
  };
}

/**
 * (d) A rolling restart: each replica in turn, oldest first, gets SIGTERM (graceful stop: its
 * leases are handed to a live replica) and a new one is started, under console load with
 * credentials held throughout. No credential a console holds may be checked in by a stop.
 */
export async function rollingRestart(c: HaCluster): Promise<{
  exitCodes: string[];
  refused: Answer[];
  settled: SettleReport;
  figures: Figures;
}> {
  const first = await threeReplicas(c);
  c.load.start();
  await c.load.pin(4);
  const startedAt = Date.now();
  const exitCodes: string[] = [];
  for (const r of first) {
    r.kill('SIGTERM');
    exitCodes.push(await r.exited);
    await c.startReplica();
  }
  const endedAt = Date.now();
  const during = c.load.since(startedAt).filter((a) => a.sentAt < endedAt);
  const handedOver = first.map((r) => /"leases":(\d+)[^\n]*leases handed over/.exec(r.output())?.[1] ?? '0');
  const settled = await c.settle();
  return {
    exitCodes,
    refused: during.filter((a) => a.kind === 'refused'),
    settled,
    figures: {
      'console requests': during.length,
      'answered / retryable / refused': `${during.filter((a) => a.kind === 'ok').length} / ${during.filter((a) => a.kind === 'retryable').length} / ${during.filter((a) => a.kind === 'refused').length}`,
      'leases handed over': handedOver.join(' + '),
      'checked in by a stop': 0,
      'vault requests open after': c.openRequests(),
      'sessions stored once': settled.sessions,
    },
  };
}
