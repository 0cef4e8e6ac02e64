import type { Logger } from 'pino';
import type { Agent } from 'undici';
import type { Clock } from '../platform/clock.js';
import type { SiteLinkSettings } from './site-config.js';
import { isServiceError, ServiceError } from '../platform/errors.js';
import { CommandApiClient, probeNode } from './command-api.js';
import { OAuthTokenSource } from './token-source.js';

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

/** Where to connect now: an origin and the token source of the ECM account on it. */
export interface Target {
  origin: string;
  tokens: OAuthTokenSource;
}

/**
 * Resolves the origin the ECM channel should use. Without `nodes` it is the site URL. With
 * `nodes` (a failover pair or Atlas primary candidates) each node is probed: the unauthenticated
 * `/check_health`, then the Command API `check_health` for its failover role; the first
 * `primary` (or `none`) wins. If the account lacks Command API permission, the first healthy node
 * is tried (a backup refuses the upgrade, and the next resolution moves on). Token sources are
 * kept per origin: tokens are not known to survive a role change, so each node gets its own.
 */
export class SiteTargets {
  readonly #tokens = new Map<string, OAuthTokenSource>();
  /** The node a permission-less resolution tried last, to rotate past a refusing backup. */
  #lastBlind = -1;
  /** Per node, what the last resolution found (only sites with `nodes`). */
  readonly #views = new Map<string, NodeView>();

  constructor(
    private readonly site: SiteLinkSettings,
    private readonly agent: Agent,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  tokensFor(origin: string): OAuthTokenSource {
    let t = this.#tokens.get(origin);
    if (!t) {
      const ecm = this.site.ecm;
      if (!ecm)
        throw new ServiceError('config.invalid', `site ${this.site.name} has no ecm account`, { op: 'appliance.link' });
      t = new OAuthTokenSource({
        baseUrl: origin,
        clientId: ecm.clientId,
        clientSecret: ecm.clientSecret,
        dispatcher: this.agent,
        clock: this.clock,
        log: this.log,
        site: this.site.name,
      });
      this.#tokens.set(origin, t);
    }
    return t;
  }

  /** The nodes as last probed, in configuration order; empty before the first resolution or without `nodes`. */
  nodes(): NodeView[] {
    return this.site.nodes.flatMap((n) => this.#views.get(n) ?? []);
  }

  #see(node: string, view: Omit<NodeView, 'node' | 'checkedAt'>): void {
    this.#views.set(node, { node, ...view, checkedAt: new Date(this.clock.now()).toISOString() });
  }

  async resolve(signal: AbortSignal): Promise<Target> {
    const siteOrigin = new URL(this.site.url).origin;
    if (this.site.nodes.length === 0) return { origin: siteOrigin, tokens: this.tokensFor(siteOrigin) };
    const scheme = new URL(this.site.url).protocol;
    const findings: string[] = [];
    const healthy: number[] = [];
    for (const [i, node] of this.site.nodes.entries()) {
      const origin = `${scheme}//${node}`;
      const probe = await probeNode(origin, this.agent, this.site.name, signal);
      if (!probe.healthy) {
        findings.push(probe.detail);
        this.#see(node, { healthy: false, role: 'unknown', detail: probe.detail });
        continue;
      }
      healthy.push(i);
      try {
        const health = await new CommandApiClient({
          baseUrl: origin,
          site: this.site.name,
          tokens: this.tokensFor(origin),
          dispatcher: this.agent,
          clock: this.clock,
        }).checkHealth(signal);
        this.#see(node, {
          healthy: health.success,
          role: health.failoverRole,
          ...(health.lastDataSyncAt !== undefined && { lastDataSyncAt: new Date(health.lastDataSyncAt).toISOString() }),
          detail: health.lastDataSyncStatus ?? (health.success ? 'healthy' : 'unhealthy'),
        });
        if (health.failoverRole !== 'backup' && health.success) return { origin, tokens: this.tokensFor(origin) };
        findings.push(`${node} is ${health.success ? health.failoverRole : 'unhealthy'}`);
      } catch (e) {
        // Bad credentials or an untrusted certificate hold for every node: report them as such.
        if (isServiceError(e, 'appliance.auth_failed') || isServiceError(e, 'appliance.tls')) throw e;
        this.#see(node, { healthy: true, role: 'unknown', detail: (e as Error).message });
        if (isServiceError(e, 'appliance.permission_missing'))
          findings.push(`${node} is healthy (role unknown: no Command API permission)`);
        else {
          healthy.pop(); // answered the probe but not the Command API: not a candidate
          findings.push(`${node}: ${(e as Error).message}`);
        }
      }
    }
    if (healthy.length > 0) {
      // Role unknown: rotate through healthy nodes so a refusing backup is not retried forever.
      const next = healthy.find((i) => i > this.#lastBlind) ?? (healthy[0] as number);
      this.#lastBlind = next;
      const origin = `${scheme}//${this.site.nodes[next]}`;
      return { origin, tokens: this.tokensFor(origin) };
    }
    throw new ServiceError(
      'appliance.unavailable',
      `site ${this.site.name}: no primary node found (${findings.join('; ')})`,
      { op: 'appliance.failover', details: { site: this.site.name } },
    );
  }
}
