import type { IncomingMessage, ServerResponse } from 'node:http';
import { OPS, type RequestContext } from '../../protocol/ecm-protocol.js';
import { send } from './sim-http.js';
import type { SimEcmHub } from './sim-ecm-hub.js';
import type { SimTokenStore } from './sim-token-store.js';
import type { FailoverRole } from './sim-command-api.js';

/** The failover pair a node belongs to, as the control route drives it (FailoverPair). */
export interface PairControls {
  swap(): void;
  failover(): void;
  resumeSync(): void;
  failedSync(): void;
  setBoth(role: 'primary' | 'backup'): void;
  readonly nodes: readonly { readonly url: string; readonly role: FailoverRole }[];
}

const PAIR_ACTIONS = ['swap', 'failover', 'resume-sync', 'failed-sync', 'both-backup'] as const;

/** What the control routes drive: the appliance simulator. */
export interface SimControls {
  /** Set on the nodes of a failover pair (`sim appliance --failover`). */
  readonly pair: PairControls | undefined;
  readonly role: FailoverRole;
  readonly down: boolean;
  readonly hub: SimEcmHub;
  readonly tokens: SimTokenStore;
  readonly upgrades: Map<number, number>;
  restart(downMs: number): Promise<void>;
  dropNetwork(): void;
  setRole(role: FailoverRole): void;
}

/** Body of `POST /sim/console/request`: one console action, as the console would send it. */
export interface ConsoleRequestBody {
  op: string;
  /** ECM group to route to (default "Default"). */
  group?: string;
  user: RequestContext['user'];
  endpoint?: RequestContext['endpoint'];
  jumpItem?: RequestContext['jumpItem'];
  session?: RequestContext['session'];
  params?: Record<string, unknown>;
  deadlineMs?: number;
}

const badRequest = (res: ServerResponse, message: string) => send(res, 400, JSON.stringify({ message }));

/**
 * The simulator's own HTTP API (test and demo control, not part of any BeyondTrust API):
 * - `POST /sim/console/request` makes the console send a request over the ECM channel and
 *   answers with the outcome (who answered, result or error);
 * - `GET /sim/status` shows channels, roles and counters;
 * - `POST /sim/control/{restart,drop,role,regenerate-secret}` drive failures;
 * - `POST /sim/control/failover` with `{"action": "swap" | "failover" | "resume-sync" |
 *   "failed-sync" | "both-backup"}` drives the node's failover pair (either node takes it) and
 *   answers both nodes' roles: a planned swap (sync, then roles change), an unplanned failover
 *   (no sync until `resume-sync`), a sync attempt that failed (reported with status `Failed`), or
 *   both nodes backup (a swap in progress; `swap` ends it).
 */
export async function handleSimRoute(
  sim: SimControls,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  if (url.pathname === '/sim/status' && req.method === 'GET') {
    return send(
      res,
      200,
      JSON.stringify({
        role: sim.role,
        down: sim.down,
        connections: sim.hub.connections(),
        stats: sim.hub.stats,
        upgrades: Object.fromEntries(sim.upgrades),
        mintedTokens: sim.tokens.mintCount,
      }),
    );
  }
  if (req.method !== 'POST') return send(res, 405, '{"message":"POST expected"}');
  let input: Record<string, unknown>;
  try {
    input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
  } catch {
    return badRequest(res, 'body must be JSON');
  }
  switch (url.pathname) {
    case '/sim/console/request':
      return consoleRequest(sim, res, input);
    case '/sim/control/restart':
      await sim.restart(Number(input.downMs ?? 1000));
      return send(res, 200, '{"restarted":true}');
    case '/sim/control/drop':
      send(res, 200, '{"dropped":true}');
      res.once('finish', () => sim.dropNetwork());
      return;
    case '/sim/control/role':
      if (input.role !== 'primary' && input.role !== 'backup' && input.role !== 'none')
        return badRequest(res, 'role must be primary, backup or none');
      sim.setRole(input.role);
      return send(res, 200, JSON.stringify({ role: sim.role }));
    case '/sim/control/failover': {
      const pair = sim.pair;
      if (!pair) return badRequest(res, 'this simulator is not part of a failover pair (start it with --failover)');
      const action = input.action;
      if (!PAIR_ACTIONS.includes(action as (typeof PAIR_ACTIONS)[number]))
        return badRequest(res, `action must be one of ${PAIR_ACTIONS.join(', ')}`);
      // After both-backup, `swap` makes the node that was not primary last the primary.
      if (action === 'swap') pair.swap();
      else if (action === 'failover') pair.failover();
      else if (action === 'resume-sync') pair.resumeSync();
      else if (action === 'failed-sync') pair.failedSync();
      else pair.setBoth('backup');
      return send(res, 200, JSON.stringify({ nodes: pair.nodes.map((n) => ({ url: n.url, role: n.role })) }));
    }
    case '/sim/control/regenerate-secret': {
      if (typeof input.clientId !== 'string' || !sim.tokens.account(input.clientId))
        return badRequest(res, 'clientId must name an API account');
      return send(res, 200, JSON.stringify({ clientSecret: sim.tokens.regenerateSecret(input.clientId) }));
    }
    default:
      return send(res, 404, '{"message":"not found"}');
  }
}

async function consoleRequest(sim: SimControls, res: ServerResponse, input: Record<string, unknown>): Promise<void> {
  const b = input as unknown as ConsoleRequestBody;
  if (typeof b.op !== 'string' || b.op === '') return badRequest(res, `op is required (${OPS.join(', ')})`);
  if (typeof b.user !== 'object' || b.user === null || typeof b.user.username !== 'string')
    return badRequest(res, 'user.username is required');
  const context: RequestContext = { user: b.user };
  if (b.endpoint) context.endpoint = b.endpoint;
  if (b.jumpItem) context.jumpItem = b.jumpItem;
  if (b.session) context.session = b.session;
  const deadline = b.deadlineMs === undefined ? undefined : Number(b.deadlineMs);
  const outcome = await sim.hub.request(b.group ?? 'Default', b.op, context, b.params ?? {}, deadline);
  send(res, 200, JSON.stringify(outcome));
}
