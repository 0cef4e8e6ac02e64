import type { Op, OpParams, OpResults, RequestContext } from '../../protocol/ecm-protocol.js';

/**
 * Answers one console request in wire terms. In the service it is `brokerHandler` (the mapper to
 * the broker's port); tests script it directly. `context` and `params` are as the appliance sent
 * them: the handler validates them. Contract: resolve with the op's result, or throw a
 * ServiceError, which the console receives as `toWireError` (wire-errors.ts) maps it. `signal`
 * aborts when the request's deadline passes or the link shuts down.
 */
export interface RequestHandler {
  handle<O extends Op>(op: O, context: RequestContext, params: OpParams[O], signal: AbortSignal): Promise<OpResults[O]>;
  /**
   * The domain event "answer not delivered": `answer`, which `handle` resolved with (this very
   * object), never reached the console (deadline passed, channel closed, send failed). The
   * handler undoes what producing it did (a checkout is checked back in); the transport knows
   * nothing of what that is. Never throws.
   */
  undelivered?(op: Op, answer: OpResults[Op]): Promise<void>;
}

export type LinkState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'blocked' | 'stopped';

export interface LinkStatus {
  site: string;
  state: LinkState;
  role?: 'active' | 'standby';
  /** The ECM group the appliance put this ECM in (from its welcome). */
  group?: string;
  /** Why the link is not connected (e.g. the missing permission), safe to show on /readyz. */
  reason?: string;
  connectedSince?: string;
}

/**
 * The port between the broker and a transport that brings console requests (today: the ECM
 * channel of protocol v1 over WebSocket). One link per site.
 * Contract: after `start`, every received request is passed to the handler and answered exactly
 * once; `stop` stops taking requests, waits for in-flight ones up to `graceMs`, fails the rest
 * explicitly, and closes cleanly.
 */
export interface ApplianceLink {
  readonly site: string;
  start(handler: RequestHandler): Promise<void>;
  stop(graceMs: number): Promise<void>;
  status(): LinkStatus;
}
