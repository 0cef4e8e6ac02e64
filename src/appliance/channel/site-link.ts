import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { backoffDelay, type Clock } from '../../platform/clock.js';
import type { SiteLinkSettings } from '../site-config.js';
import { ServiceError } from '../../platform/errors.js';
import { channelTransport } from '../../platform/channel-transport.js';
import { ClusterHosts } from '../topology/cluster-hosts.js';
import { createHttpAgent, trustContext } from '../../platform/http-agent.js';
import type { Component } from '../../platform/lifecycle.js';
import type { Readiness } from '../../platform/readiness.js';
import type { ApplianceLink, LinkState, LinkStatus, RequestHandler } from './appliance-link.js';
import { EcmSession, type SessionEnd } from './ecm-session.js';
import { LinkMetrics } from './link-metrics.js';
import { CLOSE, OPS, PROTOCOL_VERSION, type HelloFrame } from '../../protocol/ecm-protocol.js';
import { RequestDispatcher } from './request-dispatcher.js';
import { SiteTargets, type NodeView } from '../topology/site-targets.js';
import { transportError } from '../api/token-source.js';
import { BRIDGE_VERSION } from '../../platform/version.js';

const CLOSE_WAIT_MS = 2_000;
/** The heartbeat the hello asks for: the appliance notices a frozen ECM after 3 missed, 6-8 s. */
const ASKED_HEARTBEAT_SECONDS = 2;

export interface SiteLinkDeps {
  log: Logger;
  metrics: Registry;
  readiness: Readiness;
  clock: Clock;
  instanceId: string;
  /** Used when `start()` is called without one (the service's unit start). */
  handler?: RequestHandler;
  /** Jitter source (tests pin it). */
  random?: () => number;
  backoff?: { baseMs: number; capMs: number };
  /** How often the follow watch looks at the site while the channel waits (default 1 s). */
  followMs?: number;
  welcomeTimeoutMs?: number;
  /** Event-loop stall after which a welcomed channel is closed (default 5 s; EcmSession). */
  stallMs?: number;
}

/** A site as the status page shows it. */
export interface SiteLinkView extends LinkStatus {
  nodes: NodeView[];
  /** Console requests since the link started, at most the last hour: `ok` answers vs refusals and failures. */
  lastHour: { answered: number; refused: number };
}

/** What to do after a session ended. */
interface Verdict {
  reason: string;
  /** Label for the reconnect metric. */
  cause: string;
  delay: 'now' | 'backoff' | 'cap';
  blocked?: boolean;
  /** The channel had opened (a later 401 gets its own re-mint). */
  opened?: boolean;
  /** Retry-After of a 429/503, as a floor for the delay. */
  retryAfterMs?: number;
  /** The origin the attempt had resolved to, when it got that far (the follow watch's baseline). */
  origin?: string;
}

/**
 * The ECM channel of one site (ApplianceLink over protocol v1): resolves the primary node,
 * obtains the token, keeps one channel open and reconnects with jittered exponential backoff
 * (1 s to 60 s, reset by every welcome). While it waits out a backoff because the site could not
 * take the channel (no primary, a backup's 503, a node away), it watches the site every second
 * (SiteTargets.watch) and tries at once when a primary other than the failed origin appears, so
 * the channel follows a swap as fast as reporting does whatever the backoff has grown to. 401 re-mints once; 4403/403 (missing permission) backs
 * off to the cap and reports the permission on /readyz; 1001 re-resolves the primary. A token
 * refresh never drops a healthy channel (the token only matters at the upgrade), so the ECM keeps
 * its seniority in its group.
 */
export class SiteLink implements ApplianceLink, Component {
  readonly name: string;
  readonly site: string;
  readonly #deps: SiteLinkDeps;
  readonly #agent;
  readonly #trust;
  /** The certificate name of the site URL and nodes reached by another name (ClusterHosts). */
  readonly #verifyNames: ReadonlyMap<string, string>;
  readonly #targets: SiteTargets;
  readonly #metrics: LinkMetrics;
  readonly #requests: RequestDispatcher;
  readonly #stop = new AbortController();
  #handler: RequestHandler | undefined;
  #session: EcmSession | undefined;
  #loop: Promise<void> | undefined;
  #status: LinkStatus;
  /** A failover anomaly of the last resolution (two primaries), named on /readyz. */
  #warning: string | undefined;
  /** Upgrade attempts made (tests and the blocked reason). */
  attempts = 0;

  constructor(
    private readonly config: SiteLinkSettings,
    deps: SiteLinkDeps,
  ) {
    if (!config.ecm)
      throw new ServiceError('config.invalid', `site ${config.name} has no ecm account`, { op: 'appliance.link' });
    this.#deps = deps;
    this.site = config.name;
    this.name = `site:${config.name}`;
    this.#verifyNames = new ClusterHosts(config).verifyNames();
    const agentOptions = {
      connectTimeoutMs: config.timeouts.connectMs,
      requestTimeoutMs: config.timeouts.requestMs,
      caFile: config.caFile,
      verifyNames: this.#verifyNames,
      ...(config.proxy ? { proxy: config.proxy } : {}),
    };
    this.#agent = createHttpAgent(agentOptions);
    // The channel does not go through the agent: ws opens a connection of its own per upgrade,
    // so it never queues behind pooled OAuth/Command API calls nor takes over their sockets.
    this.#trust = config.caFile ? trustContext(config.caFile) : undefined;
    this.#targets = new SiteTargets(config, config.ecm, this.#agent, deps.clock, deps.log, deps.metrics);
    this.#metrics = new LinkMetrics(deps.metrics, config.name, deps.clock, siteNodes(config));
    this.#requests = new RequestDispatcher(
      {
        site: config.name,
        maxConcurrent: config.ecm.maxConcurrentRequests,
        maxQueued: config.ecm.maxConcurrentRequests * 4,
        clock: deps.clock,
        log: deps.log,
        metrics: this.#metrics,
      },
      () => this.#handler as RequestHandler,
    );
    this.#status = { site: config.name, state: 'idle' };
    this.#metrics.state('idle');
  }

  async start(handler?: RequestHandler): Promise<void> {
    this.#handler = handler ?? this.#deps.handler;
    if (!this.#handler)
      throw new ServiceError('internal', `site link ${this.site} started without a request handler`, {
        op: 'appliance.link',
      });
    this.#deps.readiness.register(this.name, () => {
      const s = this.#status;
      return s.state === 'connected'
        ? {
            ready: true,
            reason: `connected (${s.role ?? 'standby'})${this.#warning ? `; ${this.#warning}` : ''}`,
            details: { role: s.role, connectedSince: s.connectedSince },
          }
        : { ready: false, reason: s.reason ?? s.state, details: { state: s.state, attempts: this.attempts } };
    });
    this.#loop ??= this.#run();
  }

  /** Stops taking requests, answers or fails in-flight ones, closes with 1000. */
  async stop(graceMs: number): Promise<void> {
    this.#stop.abort();
    await this.#requests.drain(graceMs);
    const stopping = { cause: 'stopping', reason: 'ecm-bridge stopping' } as const;
    this.#session?.close(CLOSE.normal, stopping);
    // A dead peer never completes the close handshake: give it a moment, then drop the socket.
    const wait = new AbortController();
    const closedInTime = await Promise.race([
      (this.#loop ?? Promise.resolve()).then(() => true),
      this.#deps.clock.sleep(CLOSE_WAIT_MS, wait.signal).then(
        () => false,
        () => true,
      ),
    ]);
    wait.abort();
    if (!closedInTime) this.#session?.terminate(stopping);
    await this.#loop;
    await this.#agent.close().catch(() => undefined);
    this.#set({ state: 'stopped' });
    this.#deps.readiness.unregister(this.name);
  }

  status(): LinkStatus {
    return { ...this.#status };
  }

  view(): SiteLinkView {
    return {
      ...this.status(),
      nodes: this.#targets.nodes(),
      lastHour: this.#metrics.lastHour.totals(['answered', 'refused']),
    };
  }

  async #run(): Promise<void> {
    const { log } = this.#deps;
    const b = this.#deps.backoff ?? { baseMs: 1_000, capMs: 60_000 };
    let failures = 0;
    let remintedAfter401 = false;
    let verdict: Verdict | undefined;
    while (!this.#stop.signal.aborted) {
      if (verdict) this.#metrics.reconnect(verdict.cause);
      this.#set({ state: 'connecting', reason: verdict?.reason });
      verdict = await this.#attempt(() => (failures = 0));
      if (this.#stop.signal.aborted) break;
      if (verdict.cause === 'unauthorized') {
        // One immediate re-mint; a second 401 in a row backs off.
        verdict = { ...verdict, delay: remintedAfter401 ? 'backoff' : 'now' };
        remintedAfter401 = true;
      } else if (verdict.opened) {
        remintedAfter401 = false;
      }
      let delay =
        verdict.delay === 'now'
          ? 0
          : verdict.delay === 'cap'
            ? b.capMs
            : backoffDelay(failures++, b.baseMs, b.capMs, this.#deps.random);
      delay = Math.min(b.capMs, Math.max(delay, verdict.retryAfterMs ?? 0));
      this.#set({ state: verdict.blocked ? 'blocked' : 'backoff', reason: verdict.reason });
      const level = verdict.blocked ? 'error' : 'warn';
      log[level](
        { site: this.site, reason: verdict.reason, retryInMs: delay, attempts: this.attempts },
        'ECM channel not connected',
      );
      if (delay > 0) await this.#wait(delay, follows(verdict) ? verdict.origin : false);
    }
  }

  /**
   * Sleeps `delay`; with a baseline (`false`: no watch) it looks at the site at once and then every
   * `followMs`, and ends the wait as soon as the look names an origin other than the one seen last
   * (first the failed attempt's): a new primary, or the site back after being away. A look that
   * keeps naming the origin that just failed changes nothing, so a node that answers healthy but
   * refuses the channel is still tried only at the backoff's pace.
   */
  async #wait(delay: number, baseline: string | undefined | false): Promise<void> {
    const { clock } = this.#deps;
    const signal = this.#stop.signal;
    if (baseline === false) return clock.sleep(delay, signal).catch(() => undefined);
    const end = clock.now() + delay;
    let last = baseline;
    while (!signal.aborted) {
      const seen = await this.#targets.watch(signal);
      if (seen !== undefined && seen !== last) return;
      last = seen;
      const left = end - clock.now();
      if (left <= 0) return;
      await clock.sleep(Math.min(this.#deps.followMs ?? 1_000, left), signal).catch(() => undefined);
    }
  }

  /** One resolution + token + channel, until it ends; never throws. */
  async #attempt(resetFailures: () => void): Promise<Verdict> {
    const { clock, log } = this.#deps;
    let origin: string | undefined;
    try {
      const target = await this.#targets.resolve(this.#stop.signal);
      origin = target.origin;
      this.#warning = target.warning;
      const token = await target.tokens.token(this.#stop.signal);
      if (this.#stop.signal.aborted) return { reason: 'stopping', cause: 'stopping', delay: 'now' };
      this.attempts++;
      this.#session = new EcmSession({
        url: `${target.origin.replace(/^http/, 'ws')}/api/ecm/v1`,
        token,
        ...(this.#trust ? { trust: this.#trust } : {}),
        transport: channelTransport(target.origin, {
          verifyNames: this.#verifyNames,
          ...(this.config.proxy ? { proxy: this.config.proxy } : {}),
          connectTimeoutMs: this.config.timeouts.connectMs,
        }),
        handshakeTimeoutMs: this.config.timeouts.connectMs + this.config.timeouts.requestMs,
        hello: this.#hello(),
        clock,
        log,
        site: this.site,
        welcomeTimeoutMs: this.#deps.welcomeTimeoutMs ?? 10_000,
        stallMs: this.#deps.stallMs ?? 5_000,
        requests: this.#requests,
        onWelcome: (w) => {
          // Any welcome resets the backoff: the next failure (a swap's 1001) starts again at 1 s.
          resetFailures();
          this.#set({
            state: 'connected',
            role: w.role,
            group: w.group,
            connectedSince: new Date(clock.now()).toISOString(),
          });
          this.#metrics.connectedTo(new URL(target.origin).host);
          log.info(
            { site: this.site, origin: target.origin, group: w.group, role: w.role, appliance: w.site?.hostname },
            'ECM channel connected',
          );
        },
        onRole: (role) => {
          this.#set({ ...this.#status, role });
          log.info({ site: this.site, role }, 'ECM role changed');
        },
      });
      const end = await this.#session.run();
      this.#session = undefined;
      const verdict = this.#judge(end, target.origin);
      if (verdict.cause === 'unauthorized') target.tokens.invalidate(token);
      return { ...verdict, opened: end.opened, origin };
    } catch (e) {
      return { ...this.#failedBeforeUpgrade(e), ...(origin ? { origin } : {}) };
    }
  }

  #failedBeforeUpgrade(e: unknown): Verdict {
    const err = transportError(e, this.config.url, this.site, 'appliance.link');
    if (err.code === 'appliance.auth_failed')
      return { reason: err.message, cause: 'oauth_refused', delay: 'cap', blocked: true };
    if (err.code === 'appliance.tls') return { reason: err.message, cause: 'tls', delay: 'backoff' };
    // A proxy that refuses the tunnel or its credentials needs an administrator: like a refused client.
    if (err.code === 'proxy.refused' || err.code === 'proxy.auth_failed')
      return { reason: err.message, cause: 'proxy_refused', delay: 'cap', blocked: true };
    if (err.code === 'proxy.unreachable' || err.code === 'proxy.unresolvable')
      return { reason: err.message, cause: 'proxy_unreachable', delay: 'backoff' };
    const retryAfterMs = err.details?.retryAfterMs;
    return {
      reason: err.message,
      cause: 'unavailable',
      delay: 'backoff',
      ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
    };
  }

  #judge(end: SessionEnd, origin: string): Verdict {
    const ecm = this.config.ecm as NonNullable<SiteLinkSettings['ecm']>;
    const noPerm = `API account ${ecm.clientId} lacks "Endpoint Credential Manager API: Allow Access" (perm_ecm); an administrator must grant it in /login > Management > API Configuration`;
    if (!end.opened) {
      if (end.status === 401)
        return { reason: 'the appliance rejected the token (401)', cause: 'unauthorized', delay: 'now' };
      if (end.status === 403) return { reason: noPerm, cause: 'forbidden', delay: 'cap', blocked: true };
      if (end.status !== undefined)
        return {
          reason: `the appliance refused the channel (${end.status})`,
          cause: `http_${end.status}`,
          delay: 'backoff',
        };
      if (end.error) return this.#failedBeforeUpgrade(end.error);
      return { reason: `cannot reach ${new URL(origin).host}`, cause: 'unavailable', delay: 'backoff' };
    }
    const why = end.local?.reason ?? (end.reason || `close code ${end.code}`);
    if (end.local) return { reason: `channel closed by the ECM: ${why}`, cause: end.local.cause, delay: 'backoff' };
    switch (end.code) {
      case CLOSE.goingAway:
        return { reason: `the appliance went away (${why})`, cause: 'going_away', delay: 'backoff' };
      case CLOSE.tokenExpired:
        return { reason: 'the appliance revoked the token (4401)', cause: 'unauthorized', delay: 'now' };
      case CLOSE.notPermitted:
        return { reason: noPerm, cause: 'forbidden', delay: 'cap', blocked: true };
      case CLOSE.unsupportedProtocol:
        return {
          reason: `the appliance does not speak ECM protocol ${PROTOCOL_VERSION}: ${why}`,
          cause: 'protocol',
          delay: 'cap',
          blocked: true,
        };
      case CLOSE.replaced:
        return {
          reason: 'another channel with this instance id replaced this one',
          cause: 'replaced',
          delay: 'backoff',
        };
      default:
        return { reason: `channel closed: ${why}`, cause: `close_${end.code}`, delay: 'backoff' };
    }
  }

  #hello(): HelloFrame {
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      ecm: { name: 'ecm-bridge', version: BRIDGE_VERSION, instanceId: this.#deps.instanceId, host: hostname() },
      capabilities: [...OPS],
      heartbeatSeconds: ASKED_HEARTBEAT_SECONDS,
    };
  }

  #set(status: Omit<LinkStatus, 'site'>): void {
    const state: LinkState = status.state;
    this.#status = {
      site: this.site,
      ...status,
      ...(state === 'connected' ? {} : { role: undefined, group: undefined, connectedSince: undefined }),
    };
    this.#metrics.state(state, this.#status.role);
    if (state !== 'connected') this.#metrics.connectedTo(undefined);
  }
}

/**
 * Whether a wait after this verdict watches the site: only when the site could not take the
 * channel. A TLS failure, a refused token or a Retry-After is not cured by a node changing role.
 */
function follows(v: Verdict): boolean {
  return v.delay === 'backoff' && v.retryAfterMs === undefined && v.cause !== 'tls' && v.cause !== 'unauthorized';
}

/** The hosts a site's channel may connect to, as `URL.host` spells them (the metric's `node` label). */
function siteNodes(config: SiteLinkSettings): string[] {
  const url = new URL(config.url);
  return config.nodes.length === 0 ? [url.host] : config.nodes.map((n) => new URL(`${url.protocol}//${n}`).host);
}
