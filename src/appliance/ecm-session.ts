import type { Logger } from 'pino';
import { WebSocket } from 'undici';
import type { Clock } from '../platform/clock.js';
import type { Secret } from '../platform/secret.js';
import type { ChannelDispatcher } from './channel-dispatcher.js';
import { CLOSE, MAX_FRAME_BYTES, PROTOCOL_VERSION, type HelloFrame, type ResponseFrame, type WelcomeFrame } from './protocol.js';
import type { RequestDispatcher, ResponseSink } from './request-dispatcher.js';

export interface SessionOptions {
  /** `wss://host/api/ecm/v1` */
  url: string;
  token: Secret;
  channel: ChannelDispatcher;
  hello: HelloFrame;
  clock: Clock;
  log: Logger;
  site: string;
  welcomeTimeoutMs: number;
  requests: RequestDispatcher;
  onWelcome(welcome: WelcomeFrame): void;
  onRole(role: 'active' | 'standby'): void;
}

/** How a session ended: refused before the upgrade, or closed after it. */
export type SessionEnd =
  | { opened: false; status?: number; error?: Error }
  | { opened: true; welcomed: boolean; code: number; reason: string; openedAt: number; closedAt: number; localReason?: string };

const HEARTBEAT_MIN_MS = 50;
const MISSED_PONGS = 3;

/**
 * One ECM channel connection (protocol v1): upgrade with the bearer token, hello, welcome, role
 * changes, ping/pong in both directions (three missed pongs end it), request frames handed to the
 * RequestDispatcher, malformed frames closed with 1007. It never reconnects: SiteLink decides.
 */
export class EcmSession implements ResponseSink {
  #ws: WebSocket | undefined;
  #welcomed = false;
  #awaitingPong = false;
  #localReason: string | undefined;
  #maxRequestMs = 10_000;
  readonly #timers = new AbortController();

  constructor(private readonly o: SessionOptions) {}

  run(): Promise<SessionEnd> {
    const o = this.o;
    o.channel.reset();
    return new Promise((resolve) => {
      let openedAt: number | undefined;
      const ws = new WebSocket(o.url, { dispatcher: o.channel.dispatcher, headers: { authorization: `Bearer ${o.token.reveal()}` } });
      this.#ws = ws;
      ws.onopen = () => {
        openedAt = o.clock.now();
        this.#sendJson(o.hello);
        o.clock.sleep(o.welcomeTimeoutMs, this.#timers.signal).then(() => {
          if (!this.#welcomed) this.#terminate('no welcome within the handshake timeout');
        }, () => undefined);
      };
      ws.onmessage = (e) => this.#onMessage(e.data);
      ws.onerror = () => undefined; // the close event that follows carries the outcome
      ws.onclose = (e) => {
        this.#timers.abort();
        o.requests.channelClosed(this);
        if (openedAt === undefined) return resolve({ opened: false, status: o.channel.last.status, error: o.channel.last.error });
        resolve({ opened: true, welcomed: this.#welcomed, code: e.code, reason: e.reason, openedAt, closedAt: o.clock.now(), localReason: this.#localReason });
      };
    });
  }

  send(frame: ResponseFrame): boolean {
    return this.#sendJson(frame);
  }

  /** Closes the channel cleanly (stop: 1000). */
  close(code: number, reason: string): void {
    this.#localReason ??= reason;
    try {
      this.#ws?.close(code, reason);
    } catch {
      this.#terminate(reason);
    }
  }

  #sendJson(frame: object): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /** Tears the connection down at once (dead peer: a close handshake would never finish). */
  #terminate(reason: string): void {
    this.#localReason ??= reason;
    this.o.log.warn({ site: this.o.site, reason }, 'closing the ECM channel');
    const socket = this.o.channel.last.socket;
    if (socket && !socket.destroyed) socket.destroy();
    else this.#ws?.close();
  }

  #onMessage(data: unknown): void {
    let frame: Record<string, unknown>;
    try {
      if (typeof data !== 'string') throw new Error('binary frame');
      if (Buffer.byteLength(data) > MAX_FRAME_BYTES) return this.close(CLOSE.tooBig, 'frame larger than 1 MiB');
      frame = JSON.parse(data) as Record<string, unknown>;
      if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) throw new Error('not an object');
    } catch {
      this.o.log.warn({ site: this.o.site }, 'the appliance sent a frame that is not a JSON object; closing with 1007');
      return this.close(CLOSE.badFrame, 'frame is not a JSON object');
    }
    switch (frame.type) {
      case 'welcome':
        return this.#onWelcome(frame as unknown as WelcomeFrame);
      case 'role':
        if (frame.role === 'active' || frame.role === 'standby') this.o.onRole(frame.role);
        return;
      case 'ping':
        this.#sendJson({ type: 'pong', t: frame.t });
        return;
      case 'pong':
        this.#awaitingPong = false;
        return;
      case 'request':
        this.o.requests.accept(frame, this, this.#maxRequestMs);
        return;
      default:
        return; // unknown types are ignored (forward compatibility)
    }
  }

  #onWelcome(welcome: WelcomeFrame): void {
    if (welcome.protocol !== PROTOCOL_VERSION) return this.close(CLOSE.unsupportedProtocol, `this ECM speaks protocol ${PROTOCOL_VERSION}`);
    this.#welcomed = true;
    if (typeof welcome.maxRequestMs === 'number' && welcome.maxRequestMs > 0) this.#maxRequestMs = welcome.maxRequestMs;
    this.o.onWelcome(welcome);
    const seconds = typeof welcome.heartbeatSeconds === 'number' && welcome.heartbeatSeconds > 0 ? welcome.heartbeatSeconds : 15;
    void this.#heartbeat(Math.max(HEARTBEAT_MIN_MS, seconds * 1000));
  }

  async #heartbeat(intervalMs: number): Promise<void> {
    let missed = 0;
    for (;;) {
      try {
        await this.o.clock.sleep(intervalMs, this.#timers.signal);
      } catch {
        return;
      }
      if (this.#awaitingPong && ++missed >= MISSED_PONGS) return this.#terminate(`${MISSED_PONGS} missed pongs`);
      if (!this.#awaitingPong) missed = 0;
      this.#awaitingPong = true;
      this.#sendJson({ type: 'ping', t: this.o.clock.now() });
    }
  }
}
