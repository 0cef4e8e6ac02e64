import type { IncomingMessage, ServerResponse } from 'node:http';
import { OPS, type RequestContext } from '../../protocol/ecm-protocol.js';
import { send } from './sim-http.js';
import type { SimEcmHub } from './sim-ecm-hub.js';
import type { SimTokenStore } from './sim-token-store.js';
import type { FailoverRole } from './sim-command-api.js';

/** What the control routes drive: the appliance simulator. */
export interface SimControls {
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
 * - `POST /sim/control/{restart,drop,role,regenerate-secret}` drive failures.
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
