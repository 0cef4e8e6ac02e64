import type { Logger } from 'pino';
import type { Agent } from 'undici';
import type { Clock } from '../../platform/clock.js';
import type { SiteConfig } from '../site-config.js';
import { isServiceError, ServiceError } from '../../platform/errors.js';
import { Gauge, metric, type Registry } from '../../platform/metrics.js';
import type { Secret } from '../../platform/secret.js';
import { CommandApiClient, probeNode, type FailoverRole } from '../api/command-api.js';
import { OAuthTokenSource } from '../api/token-source.js';

/** What the last resolution learnt about one node of a site (the status page). */
export interface NodeView {
  node: string;
  healthy: boolean;
  /** Failover role from the Command API, `unknown` without that permission or answer. */
  role: 'primary' | 'backup' | 'none' | 'unknown';
  /** ISO time of the node's last failover data sync, when the appliance reports one. */
  lastDataSyncAt?: string;
  detail: string;
  checkedAt: string;
}

/** Where to connect now: an origin and the token source of the account on it. */
export interface Target {
  origin: string;
  tokens: OAuthTokenSource;
  /** `last_data_sync_time` the chosen node reported (Unix ms), when its role is known. */
  lastDataSyncAt?: number;
  /** `last_data_sync_status` the chosen node reported with it. */
  lastDataSyncStatus?: string;
  /** The chosen node's failover role; `unknown` without Command API permission (absent without `nodes`). */
  role?: FailoverRole | 'unknown';
  /** Set when more than one node says it is primary (split brain): names them. */
  warning?: string;
}

/** What one node answered during a resolution. */
interface NodeState {
  node: string;
  /** `unknown`: healthy but the account has no Command API permission; `down`: the probe failed. */
  role: FailoverRole | 'unknown' | 'down';
  lastDataSyncAt?: number;
  lastDataSyncStatus?: string;
  detail: string;
}

/** The API account the resolution mints tokens for (ECM, reporting or the one `check` uses). */
export interface TargetAccount {
  clientId: string;
  clientSecret: Secret;
}

export type SiteTargetSettings = Pick<SiteConfig, 'name' | 'url' | 'nodes'>;

const PRIMARIES = 'ecm_bridge_site_primary_nodes';

/**
 * Resolves the node every client of a site should use now: the ECM channel, the Command API and
 * the Reporting API all follow the same answer. Without `nodes` it is the site URL. With `nodes`
 * (a failover pair or Atlas primary candidates) every node is probed: the unauthenticated
 * `/check_health`, then the Command API `check_health` for its failover role. The first `primary`
 * (or `none`) wins; every node is asked so that two primaries (split brain) are named, not hidden.
 * Nodes known to be backup are never tried. If the account lacks Command API permission, the
 * healthy nodes are tried in turn (a backup refuses, the next resolution moves on). Token sources
 * are kept per origin: tokens are not known to survive a role change, so each node gets its own.
 * The number of primaries seen is the `ecm_bridge_site_primary_nodes{site}` gauge (0: no primary,
 * 2: two primaries; -1 when roles are unknown).
 */
export class SiteTargets {
  readonly #tokens = new Map<string, OAuthTokenSource>();
  readonly #primaries: Gauge<'site'> | undefined;
  /** The node a permission-less resolution tried last, to rotate past a refusing backup. */
  #lastBlind = -1;
  /** What the last resolution found per node (only sites with `nodes`). */
  #states: NodeState[] = [];
  #checkedAt = '';

  constructor(
    private readonly site: SiteTargetSettings,
    private readonly account: TargetAccount,
    private readonly agent: Agent,
    private readonly clock: Clock,
    private readonly log: Logger,
    metrics?: Registry,
  ) {
    this.#primaries = metrics
      ? metric(
          metrics,
          PRIMARIES,
          () =>
            new Gauge({
              name: PRIMARIES,
              help: 'Nodes of a failover site that said they are primary at the last resolution (1 is healthy; 0 no primary, 2 split brain, -1 roles unknown)',
              labelNames: ['site'] as const,
              registers: [metrics],
            }),
        )
      : undefined;
  }

  tokensFor(origin: string): OAuthTokenSource {
    let t = this.#tokens.get(origin);
    if (!t) {
      t = new OAuthTokenSource({
        baseUrl: origin,
        clientId: this.account.clientId,
        clientSecret: this.account.clientSecret,
        dispatcher: this.agent,
        clock: this.clock,
        log: this.log,
        site: this.site.name,
      });
      this.#tokens.set(origin, t);
    }
    return t;
  }

  /** The origin of a `nodes:` entry (the site URL's scheme). */
  originOf(node: string): string {
    return `${new URL(this.site.url).protocol}//${node}`;
  }

  /** The nodes as last probed, in configuration order; empty before the first resolution or without `nodes`. */
  nodes(): NodeView[] {
    return this.#states.map((n) => ({
      node: n.node,
      healthy: n.role !== 'down',
      role: n.role === 'down' ? 'unknown' : n.role,
      ...(n.lastDataSyncAt !== undefined ? { lastDataSyncAt: new Date(n.lastDataSyncAt).toISOString() } : {}),
      detail: n.detail,
      checkedAt: this.#checkedAt,
    }));
  }

  async resolve(signal: AbortSignal): Promise<Target> {
    const siteOrigin = new URL(this.site.url).origin;
    if (this.site.nodes.length === 0) return { origin: siteOrigin, tokens: this.tokensFor(siteOrigin) };
    const views = await this.#survey(signal);
    const primaries = views.filter(isPrimary);
    const unknown = views.flatMap((v, i) => (v.role === 'unknown' ? [i] : []));
    const first = primaries[0];
    if (first) {
      const origin = this.originOf(first.node);
      const warning =
        primaries.length > 1
          ? `two primaries: ${primaries.map((p) => p.node).join(' and ')} both say primary (split brain); using ${first.node}`
          : undefined;
      if (warning) this.log.error({ site: this.site.name, nodes: primaries.map((p) => p.node) }, warning);
      return {
        origin,
        tokens: this.tokensFor(origin),
        role: first.role as FailoverRole,
        ...(first.lastDataSyncAt !== undefined ? { lastDataSyncAt: first.lastDataSyncAt } : {}),
        ...(first.lastDataSyncStatus !== undefined ? { lastDataSyncStatus: first.lastDataSyncStatus } : {}),
        ...(warning ? { warning } : {}),
      };
    }
    if (unknown.length > 0) {
      // Role unknown: rotate through those nodes so a refusing backup is not retried forever.
      const next = unknown.find((i) => i > this.#lastBlind) ?? (unknown[0] as number);
      this.#lastBlind = next;
      const origin = this.originOf(this.site.nodes[next] as string);
      return { origin, tokens: this.tokensFor(origin), role: 'unknown' };
    }
    const backups = views.filter((v) => v.role === 'backup').length;
    const why = backups === views.length ? `every node is backup` : `no healthy primary`;
    throw new ServiceError(
      'appliance.unavailable',
      `site ${this.site.name}: no primary: ${why} (${views.map((v) => v.detail).join('; ')})`,
      { op: 'appliance.failover', details: { site: this.site.name } },
    );
  }

  /** Probes every node, keeps what each said (status page) and sets the primaries gauge. */
  async #survey(signal: AbortSignal): Promise<NodeState[]> {
    const views = await Promise.all(this.site.nodes.map((node) => this.#view(node, signal)));
    this.#states = views;
    this.#checkedAt = new Date(this.clock.now()).toISOString();
    const primaries = views.filter(isPrimary).length;
    const unknown = views.some((v) => v.role === 'unknown');
    this.#primaries?.set({ site: this.site.name }, primaries === 0 && unknown ? -1 : primaries);
    return views;
  }

  /**
   * A cheap look for the ECM channel's follow watch while it is not connected: the origin a
   * channel could use now, or undefined. With `nodes` it is a resolution (the unauthenticated
   * `/check_health` of each node, then `check_health` with the node's cached token); without, the
   * site URL's own health and role (a shared-IP or DNS-swing site: the address stays, the role
   * behind it changes). Never throws: a failure is "not yet".
   */
  async watch(signal: AbortSignal): Promise<string | undefined> {
    try {
      if (this.site.nodes.length > 0) {
        // Only a node that says it is primary: nodes of unknown role are the attempts' rotation.
        const primary = (await this.#survey(signal)).find(isPrimary);
        return primary ? this.originOf(primary.node) : undefined;
      }
      const view = await this.#view(new URL(this.site.url).host, signal);
      return view.role === 'backup' || view.role === 'down' ? undefined : new URL(this.site.url).origin;
    } catch {
      return undefined;
    }
  }

  async #view(node: string, signal: AbortSignal): Promise<NodeState> {
    const origin = this.originOf(node);
    const probe = await probeNode(origin, this.agent, this.site.name, signal);
    // An untrusted or misnamed certificate, or a refusing proxy, holds for every node: one root
    // cause with its own fix, not "no healthy primary".
    const cause = probe.error?.code;
    if (cause === 'appliance.tls' || cause === 'proxy.refused' || cause === 'proxy.auth_failed') throw probe.error;
    if (!probe.healthy) return { node, role: 'down', detail: probe.detail };
    try {
      const health = await new CommandApiClient({
        baseUrl: origin,
        site: this.site.name,
        tokens: this.tokensFor(origin),
        dispatcher: this.agent,
        clock: this.clock,
      }).checkHealth(signal);
      const sync = {
        ...(health.lastDataSyncAt !== undefined ? { lastDataSyncAt: health.lastDataSyncAt } : {}),
        ...(health.lastDataSyncStatus !== undefined ? { lastDataSyncStatus: health.lastDataSyncStatus } : {}),
      };
      if (!health.success) return { node, role: 'down', ...sync, detail: `${node} is unhealthy` };
      return { node, role: health.failoverRole, ...sync, detail: `${node} is ${health.failoverRole}` };
    } catch (e) {
      // Bad credentials or an untrusted certificate hold for every node: report them as such.
      if (isServiceError(e, 'appliance.auth_failed') || isServiceError(e, 'appliance.tls')) throw e;
      if (isServiceError(e, 'appliance.permission_missing'))
        return { node, role: 'unknown', detail: `${node} is healthy (role unknown: no Command API permission)` };
      if (isServiceError(e, 'appliance.xml_api_disabled'))
        return { node, role: 'unknown', detail: `${node} is healthy (role unknown: the XML API is disabled)` };
      // Answered the probe but not the Command API: not a candidate.
      return { node, role: 'down', detail: `${node}: ${(e as Error).message}` };
    }
  }
}

function isPrimary(v: NodeState): boolean {
  return v.role === 'primary' || v.role === 'none';
}
