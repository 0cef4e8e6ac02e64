import type { JumpTarget } from './broker-port.js';
import { EXTERNAL_JUMPOINT_AUTO, type BrokerConfig } from './broker-config.js';
import { ServiceError } from '../platform/errors.js';
import type { VaultPort, VaultSystem } from '../vault/vault-port.js';

export const NO_JUMPOINT_COMMENT = 'Jumpoint for External Jump Items not configured';

/**
 * External Jump item search: vault RDP/SSH systems the mapped vault user may request. The query
 * is a plain substring (never a pattern) and its length and the result count are bounded before
 * the vault is asked. The Network ID is the system's workgroup. Which items carry the comment
 * consoles show for "no Jumpoint" follows the /login setting "Jumpoint for External Jump Item
 * Sessions" (`externalJumpoint`): one named Jumpoint takes every session; `auto` matches the
 * Network ID, so an item without one (or, when the optional `jumpoints` table is filled, with one
 * it does not list) has no Jumpoint.
 */
export class JumpSearch {
  readonly #jumpoints: Map<string, string>;

  constructor(
    private readonly config: BrokerConfig['search'],
    private readonly vault: VaultPort,
  ) {
    this.#jumpoints = new Map(Object.entries(config.jumpoints).map(([k, v]) => [k.toLowerCase(), v]));
  }

  /** Validated query and limit, or `request.bad` / `request.too_large`. */
  parse(query: string, requested: number | undefined): { query: string; limit: number } {
    if (query.length > this.config.maxQueryLength) {
      throw new ServiceError(
        'request.too_large',
        `The search text is longer than ${this.config.maxQueryLength} characters`,
        { op: 'broker.search' },
      );
    }
    const limit = requested ?? this.config.maxLimit;
    if (!Number.isInteger(limit) || limit < 1)
      throw new ServiceError('request.bad', 'jump.search "limit" must be a positive integer', { op: 'broker.search' });
    return { query: query.trim(), limit: Math.min(limit, this.config.maxLimit) };
  }

  async search(
    vaultUser: string,
    requestedQuery: string,
    requestedLimit: number | undefined,
    signal?: AbortSignal,
  ): Promise<JumpTarget[]> {
    const { query, limit } = this.parse(requestedQuery, requestedLimit);
    const systems = await this.vault.searchSystems(vaultUser, query, limit, signal);
    const needle = query.toLowerCase();
    return (
      systems
        // The vault is asked for a substring already; re-checking keeps the contract whatever the adapter does.
        .filter(
          (s) =>
            (s.method === 'rdp' || s.method === 'ssh') &&
            [s.name, s.hostname, s.ip ?? ''].some((f) => f.toLowerCase().includes(needle)),
        )
        .slice(0, limit)
        .map((s) => this.#item(s))
    );
  }

  #item(s: VaultSystem): JumpTarget {
    return {
      id: String(s.systemId),
      name: s.name,
      hostname: s.hostname,
      ...(s.ip !== undefined && { ip: s.ip }),
      method: s.method,
      ...(s.port !== undefined && { port: s.port }),
      ...(s.workgroup !== undefined && { networkId: s.workgroup }),
      ...(!this.#hasJumpoint(s.workgroup) && { comment: NO_JUMPOINT_COMMENT }),
    };
  }

  #hasJumpoint(workgroup: string | undefined): boolean {
    if (this.config.externalJumpoint !== EXTERNAL_JUMPOINT_AUTO) return true;
    if (workgroup === undefined) return false;
    return this.#jumpoints.size === 0 || this.#jumpoints.has(workgroup.toLowerCase());
  }
}
