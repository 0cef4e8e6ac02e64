import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { WebSocket } from 'undici';
import type { Clock } from '../platform/clock.js';
import type { Secret } from '../platform/secret.js';
import type { ChannelDispatcher } from './channel-dispatcher.js';
import {
  CLOSE,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type HelloFrame,
  type WelcomeFrame,
} from '../protocol/ecm-protocol.js';
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
  | {
      opened: true;
      welcomed: boolean;
      code: number;
      reason: string;
      openedAt: number;
      closedAt: number;
      local?: LocalClose;
    };

/** Why this side ended the channel (metric label and log text). */
export interface LocalClose {
  cause: 'bad_frame' | 'frame_too_big' | 'dead_peer' | 'no_welcome' | 'protocol' | 'stopping';
  reason: string;
}

const HEARTBEAT_MIN_MS = 50;

/** Longest close reason a control frame can carry (125 bytes minus the 2-byte code). */
const MAX_REASON_BYTES = 123;

/** `reason` cut to at most 123 UTF-8 bytes on a character boundary (undici throws beyond that). */
export function fitCloseReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_REASON_BYTES) return reason;
  let out = '';
  let bytes = 0;
  for (const ch of reason) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > MAX_REASON_BYTES) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** A masked (client-to-server) WebSocket close frame; `reason` is cut to fit a control frame. */
function closeFrame(code: number, reason: string): Buffer {
  const payload = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(fitCloseReason(reason), 'utf8')]);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), mask, masked]);
}
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
  #local: LocalClose | undefined;
  #maxRequestMs = 10_000;
  readonly #timers = new AbortController();

  constructor(private readonly o: SessionOptions) {}

  run(): Promise<SessionEnd> {
    const o = this.o;
    o.channel.reset();
    return new Promise((resolve) => {
      let openedAt: number | undefined;
      const ws = new WebSocket(o.url, {
        dispatcher: o.channel.dispatcher,
        headers: { authorization: `Bearer ${o.token.reveal()}` },
      });
      this.#ws = ws;
      ws.onopen = () => {
        openedAt = o.clock.now();
        this.#sendJson(o.hello);
        o.clock.sleep(o.welcomeTimeoutMs, this.#timers.signal).then(
          () => {
            if (!this.#welcomed)
              this.terminate({ cause: 'no_welcome', reason: 'no welcome within the handshake timeout' });
          },
          () => undefined,
        );
      };
      ws.onmessage = (e) => this.#onMessage(e.data);
      ws.onerror = () => undefined; // the close event that follows carries the outcome
      ws.onclose = (e) => {
        this.#timers.abort();
        o.requests.channelClosed(this);
        if (openedAt === undefined)
          return resolve({ opened: false, status: o.channel.last.status, error: o.channel.last.error });
        resolve({
          opened: true,
          welcomed: this.#welcomed,
          code: e.code,
          reason: e.reason,
          openedAt,
          closedAt: o.clock.now(),
          local: this.#local,
        });
      };
    });
  }

  send(frameJson: string): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(frameJson);
    return true;
  }

  /**
   * Closes the channel with a close frame carrying `code`. The WebSocket API only lets a client
   * send 1000 or 3000-4999, but the protocol needs 1007/1009/4400 too: those frames are written
   * on the upgraded socket directly, which is then ended.
   */
  close(code: number, local: LocalClose): void {
    this.#local ??= local;
    if (code === CLOSE.normal || (code >= 3000 && code <= 4999)) {
      this.#ws?.close(code, fitCloseReason(local.reason));
      return;
    }
    const socket = this.o.channel.last.socket;
    if (!socket || socket.destroyed) return this.terminate(local);
    this.o.log.warn({ site: this.o.site, code, reason: local.reason }, 'closing the ECM channel');
    socket.end(closeFrame(code, local.reason));
  }

  #sendJson(frame: object): boolean {
    return this.send(JSON.stringify(frame));
  }

  /** Tears the connection down at once (dead peer: a close handshake would never finish). */
  terminate(local: LocalClose): void {
    this.#local ??= local;
    this.o.log.warn({ site: this.o.site, reason: local.reason }, 'closing the ECM channel');
    const socket = this.o.channel.last.socket;
    if (socket && !socket.destroyed) socket.destroy();
    else this.#ws?.close();
  }

  #onMessage(data: unknown): void {
    try {
      this.#handleMessage(data);
    } catch (e) {
      // Nothing a peer sends may escape the event handler (it would be an uncaught exception).
      this.o.log.error({ site: this.o.site, err: e }, 'unexpected failure handling an ECM frame; ending the channel');
      this.terminate({ cause: 'bad_frame', reason: 'unexpected failure handling a frame' });
    }
  }

  #handleMessage(data: unknown): void {
    let frame: Record<string, unknown>;
    try {
      if (typeof data !== 'string') throw new Error('binary frame');
      if (Buffer.byteLength(data) > MAX_FRAME_BYTES)
        return this.close(CLOSE.tooBig, { cause: 'frame_too_big', reason: 'frame larger than 1 MiB' });
      frame = JSON.parse(data) as Record<string, unknown>;
      if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) throw new Error('not an object');
    } catch {
      this.o.log.warn({ site: this.o.site }, 'the appliance sent a frame that is not a JSON object; closing with 1007');
      return this.close(CLOSE.badFrame, { cause: 'bad_frame', reason: 'frame is not a JSON object' });
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
    if (this.#welcomed) return; // a repeated welcome must not start a second heartbeat
    if (welcome.protocol !== PROTOCOL_VERSION)
      return this.close(CLOSE.unsupportedProtocol, {
        cause: 'protocol',
        reason: `the appliance speaks protocol ${String(welcome.protocol)}, this ECM ${PROTOCOL_VERSION}`,
      });
    this.#welcomed = true;
    if (typeof welcome.maxRequestMs === 'number' && welcome.maxRequestMs > 0) this.#maxRequestMs = welcome.maxRequestMs;
    this.o.onWelcome(welcome);
    const seconds =
      typeof welcome.heartbeatSeconds === 'number' && welcome.heartbeatSeconds > 0 ? welcome.heartbeatSeconds : 15;
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
      if (this.#awaitingPong && ++missed >= MISSED_PONGS)
        return this.terminate({ cause: 'dead_peer', reason: `${MISSED_PONGS} missed pongs` });
      if (!this.#awaitingPong) missed = 0;
      this.#awaitingPong = true;
      this.#sendJson({ type: 'ping', t: this.o.clock.now() });
    }
  }
}
