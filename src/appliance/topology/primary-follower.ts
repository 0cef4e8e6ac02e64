import type { Duplex } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import type { Agent, Dispatcher } from 'undici';
import type { Secret } from '../../platform/secret.js';
import type { AccessTokenProvider } from '../api/access-token.js';
import type { SiteTargets, Target } from './site-targets.js';

type Controller = Dispatcher.DispatchController;

/** Passes every event through; a 503 or a transport failure tells the follower its target is stale. */
class StaleOnFailure implements Dispatcher.DispatchHandler {
  constructor(
    private readonly inner: Dispatcher.DispatchHandler,
    private readonly stale: () => void,
  ) {}
  onRequestStart(c: Controller, context: unknown): void {
    this.inner.onRequestStart?.(c, context);
  }
  onRequestUpgrade(c: Controller, status: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.inner.onRequestUpgrade?.(c, status, headers, socket);
  }
  onResponseStart(c: Controller, status: number, headers: IncomingHttpHeaders, message?: string): void {
    // A backup answers 503 to every API: the primary has moved.
    if (status === 503) this.stale();
    this.inner.onResponseStart?.(c, status, headers, message);
  }
  onResponseData(c: Controller, chunk: Buffer): void {
    this.inner.onResponseData?.(c, chunk);
  }
  onResponseEnd(c: Controller, trailers: IncomingHttpHeaders): void {
    this.inner.onResponseEnd?.(c, trailers);
  }
  onResponseError(c: Controller, error: Error): void {
    this.stale();
    this.inner.onResponseError?.(c, error);
  }
}

/**
 * The site's HTTP clients (Reporting API, its OAuth token source, the Command API of `check`)
 * address the site URL; this dispatcher sends those requests to the node SiteTargets resolves, so
 * they follow the same health-aware primary as the ECM channel without knowing about nodes. The
 * target is kept until a request to it fails (503 from a backup, a transport error) or `refresh`
 * is called; the next request then resolves again. Requests to other origins pass through.
 * As a token provider it hands out the token of the current node's own token source (tokens are
 * not known to survive a role change), so a swap costs no rejected request.
 */
export class PrimaryFollower implements AccessTokenProvider {
  readonly dispatcher: Dispatcher;
  readonly #siteOrigin: string;
  #settled: Target | undefined;
  #pending: Promise<Target> | undefined;
  readonly #idle = new AbortController();

  constructor(
    siteUrl: string,
    private readonly targets: SiteTargets,
    agent: Agent,
  ) {
    this.#siteOrigin = new URL(siteUrl).origin;
    this.dispatcher = agent.compose((dispatch) => (opts, handler) => {
      if (!opts.origin || new URL(String(opts.origin)).origin !== this.#siteOrigin) return dispatch(opts, handler);
      const send = (t: Target) => dispatch({ ...opts, origin: t.origin }, new StaleOnFailure(handler, this.#stale));
      if (this.#settled) return send(this.#settled);
      this.target().then(send, (e: Error) => handler.onResponseError?.(undefined as unknown as Controller, e));
      return true;
    });
  }

  /** The node to use now, resolving when none is known. */
  target(signal: AbortSignal = this.#idle.signal): Promise<Target> {
    if (this.#settled) return Promise.resolve(this.#settled);
    this.#pending ??= this.targets.resolve(signal).then(
      (t) => ((this.#settled = t), (this.#pending = undefined), t),
      (e: unknown) => {
        this.#pending = undefined;
        throw e;
      },
    );
    return this.#pending;
  }

  /** Resolves again now (the reporting worker does so before each pull to notice a failback). */
  refresh(signal?: AbortSignal): Promise<Target> {
    this.#stale();
    return this.target(signal);
  }

  async token(signal?: AbortSignal): Promise<Secret> {
    return (await this.target(signal)).tokens.token(signal);
  }

  invalidate(rejected: Secret): void {
    this.#settled?.tokens.invalidate(rejected);
  }

  readonly #stale = (): void => {
    this.#settled = undefined;
  };
}
