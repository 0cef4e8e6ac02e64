import type { Duplex } from 'node:stream';
import type { Agent, Dispatcher } from 'undici';
import { MAX_FRAME_BYTES } from '../protocol/ecm-protocol.js';

/** What the last WebSocket upgrade attempt through a ChannelDispatcher saw. */
export interface UpgradeRecord {
  /** HTTP status of a refused upgrade (401, 403, 503...); undefined when accepted or never answered. */
  status?: number;
  /** Transport failure (DNS, TCP, TLS) with its original code chain. */
  error?: Error;
  /** The upgraded socket, so a dead channel can be torn down without waiting for TCP. */
  socket?: Duplex;
}

type Handler = Dispatcher.DispatchHandler & Record<string, unknown>;

/**
 * Wraps the site's undici Agent for the ECM channel. undici's WebSocket reports every failed
 * handshake as the same generic error, but the bridge must tell 401 (re-mint) from 403 (missing
 * permission, do not hammer) and name TLS failures; this interceptor records the upgrade's status,
 * transport error and socket. It also gives undici a hard cap on incoming frames.
 *
 * The protocol's 1 MiB limit itself is enforced by EcmSession, which answers 1009 with a close
 * frame written and flushed on the socket. undici's own cap sits above it (4 MiB) only as a
 * memory bound: when undici enforces it, it destroys the socket right after queueing its close
 * frame, and on Node 22+ that frame is lost (the peer sees 1006).
 */
const UNDICI_FRAME_CAP = 4 * MAX_FRAME_BYTES;

export class ChannelDispatcher {
  last: UpgradeRecord = {};
  readonly dispatcher: Dispatcher;

  constructor(agent: Agent) {
    const composed = agent.compose((dispatch) => (opts, handler) => dispatch(opts, this.#wrap(handler as Handler)));
    this.dispatcher = new Proxy(composed, {
      get: (target, key) =>
        key === 'webSocketOptions'
          ? { maxFragments: 1024, maxPayloadSize: UNDICI_FRAME_CAP }
          : Reflect.get(target, key),
    });
  }

  /** Clears the record before an attempt. */
  reset(): void {
    this.last = {};
  }

  #wrap(handler: Handler): Handler {
    const rec = (patch: UpgradeRecord) => Object.assign(this.last, patch);
    return new Proxy(handler, {
      get: (target, key) => {
        const value = target[key as string];
        if (typeof value !== 'function') return value;
        const fn = value as (...args: unknown[]) => unknown;
        switch (key) {
          case 'onHeaders':
            return (status: number, ...rest: unknown[]) => (rec({ status }), fn.call(target, status, ...rest));
          case 'onResponseStart':
            return (c: unknown, status: number, ...rest: unknown[]) => (
              rec({ status }),
              fn.call(target, c, status, ...rest)
            );
          case 'onUpgrade':
            return (status: number, headers: unknown, socket: Duplex) => (
              rec({ socket }),
              fn.call(target, status, headers, socket)
            );
          case 'onRequestUpgrade':
            return (c: unknown, status: number, headers: unknown, socket: Duplex) => (
              rec({ socket }),
              fn.call(target, c, status, headers, socket)
            );
          case 'onError':
            return (e: Error) => (rec({ error: e }), fn.call(target, e));
          case 'onResponseError':
            return (c: unknown, e: Error) => (rec({ error: e }), fn.call(target, c, e));
          default:
            return fn.bind(target);
        }
      },
    });
  }
}
