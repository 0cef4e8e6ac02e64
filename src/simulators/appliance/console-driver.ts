import { Agent, request, type Dispatcher } from 'undici';
import type { Op } from '../../protocol/ecm-protocol.js';
import { ServiceError } from '../../platform/errors.js';
import type { ConsoleRequestBody } from './sim-console-routes.js';
import type { ConsoleOutcome } from './sim-ecm-hub.js';

/**
 * Client of a simulator's console driver (`/sim/console/request`): makes the simulated access
 * console ask the connected ECM for credentials or Jump items. Used by the CLI
 * (`ecm-bridge sim console`), the demo, tests and benchmarks.
 */
export class ConsoleDriver {
  readonly #agent: Agent;

  constructor(
    private readonly baseUrl: string,
    caPem: string,
  ) {
    this.#agent = new Agent({ connect: { ca: [caPem] }, connections: 64 });
  }

  async send(body: ConsoleRequestBody): Promise<ConsoleOutcome> {
    return (await this.#post('/sim/console/request', body)) as unknown as ConsoleOutcome;
  }

  list(
    base: Omit<ConsoleRequestBody, 'op' | 'params'>,
    purpose: 'login' | 'run-as' = 'login',
  ): Promise<ConsoleOutcome> {
    return this.send({ ...base, op: 'credentials.list', params: { purpose } });
  }

  get(base: Omit<ConsoleRequestBody, 'op' | 'params'>, credentialId: string): Promise<ConsoleOutcome> {
    return this.send({ ...base, op: 'credentials.get', params: { credentialId } });
  }

  release(base: Omit<ConsoleRequestBody, 'op' | 'params'>, leaseId: string): Promise<ConsoleOutcome> {
    return this.send({ ...base, op: 'credentials.release', params: { leaseId } });
  }

  search(base: Omit<ConsoleRequestBody, 'op' | 'params'>, query: string, limit = 50): Promise<ConsoleOutcome> {
    return this.send({ ...base, op: 'jump.search' satisfies Op, params: { query, limit } });
  }

  /** Simulator status: channels with their roles, counters. */
  async status(): Promise<Record<string, unknown>> {
    try {
      const res = await request(`${this.baseUrl}/sim/status`, { dispatcher: this.#agent });
      return (await res.body.json()) as Record<string, unknown>;
    } catch (e) {
      throw unreachable(e, this.baseUrl);
    }
  }

  async control(
    action: 'restart' | 'drop' | 'role' | 'regenerate-secret',
    body: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    return this.#post(`/sim/control/${action}`, body);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  async #post(path: string, body: unknown): Promise<Record<string, unknown>> {
    let res: Dispatcher.ResponseData;
    let json: Record<string, unknown>;
    try {
      res = await request(`${this.baseUrl}${path}`, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      json = (await res.body.json()) as Record<string, unknown>;
    } catch (e) {
      throw unreachable(e, this.baseUrl);
    }
    if (res.statusCode !== 200)
      throw new ServiceError('cli.usage', `simulator refused ${path}: ${String(json.message ?? res.statusCode)}`, {
        op: 'sim.console',
      });
    return json;
  }
}

/** The simulator could not be reached (it is not running, or the port is wrong). */
function unreachable(e: unknown, baseUrl: string): ServiceError {
  if (e instanceof ServiceError) return e;
  const code = (e as { code?: string }).code ?? (e as { cause?: { code?: string } }).cause?.code ?? 'error';
  return new ServiceError('appliance.unavailable', `cannot reach the simulator at ${new URL(baseUrl).host} (${code})`, {
    op: 'sim.console',
    cause: e,
  });
}
