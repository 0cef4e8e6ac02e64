import type { SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import type { Clock } from '../../platform/clock.js';
import type { Secret } from '../../platform/secret.js';
import {
  CLOSE,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type HelloFrame,
  type WelcomeFrame,
} from '../../protocol/ecm-protocol.js';
import type { RequestDispatcher, ResponseSink } from './request-dispatcher.js';
import { describeProblem, welcomeSchema } from '../../protocol/ecm-schemas.js';

export interface SessionOptions {
  /** `wss://host/api/ecm/v1` */
  url: string;
  token: Secret;
  /** System roots plus the site's caFile (trustContext); undefined: system roots only. */
  trust?: SecureContext;
  /** SNI name for a node given by IP, and a proxy tunnel agent (platform/channel-transport.ts). */
  transport?: { servername?: string; agent?: ClientOptions['agent'] };
  /** The upgrade (TCP, TLS, HTTP 101) must complete within this. */
  handshakeTimeoutMs: number;
  hello: HelloFrame;
  clock: Clock;
  log: Logger;
  site: string;
  welcomeTimeoutMs: number;
  /**
   * Real time the event loop may stall (a long GC, a blocking call) before this side closes the
   * welcomed channel with 1001: the appliance then routes the group to another ECM at once
   * instead of to one that cannot answer. Measured on the real clock, not the injected one.
   */
  stallMs: number;
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
  cause: 'bad_frame' | 'frame_too_big' | 'dead_peer' | 'no_welcome' | 'protocol' | 'stopping' | 'stalled';
  reason: string;
}

const HEARTBEAT_MIN_MS = 50;

/** Longest close reason a control frame can carry (125 bytes minus the 2-byte code). */
const MAX_REASON_BYTES = 123;

/** `reason` cut to at most 123 UTF-8 bytes on a character boundary (ws throws beyond that). */
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

const MISSED_PONGS = 3;

/**
 * One ECM channel connection (protocol v1) over the `ws` client: upgrade with the bearer token,
 * hello, welcome, role changes, ping/pong in both directions (three missed pongs end it),
 * request frames handed to the RequestDispatcher. Malformed frames close with 1007; a frame over
 * 1 MiB is refused by ws itself (`maxPayload`), which sends the 1009 close frame and waits for the
 * peer's answer, so the appliance always sees the code. It never reconnects: SiteLink decides.
 */
export class EcmSession implements ResponseSink {
  #ws: WebSocket | undefined;
  #welcomed = false;
  #awaitingPong = false;
  #local: LocalClose | undefined;
  #maxRequestMs = 10_000;
  #stallWatch: NodeJS.Timeout | undefined;
  readonly #timers = new AbortController();

  constructor(private readonly o: SessionOptions) {}

  run(): Promise<SessionEnd> {
    const o = this.o;
    return new Promise((resolve) => {
      let openedAt: number | undefined;
      /** What a refused or failed upgrade saw: ws reports both only as text otherwise. */
      const refused: { status?: number; error?: Error } = {};
      const options: ClientOptions & { secureContext?: SecureContext } = {
        headers: { authorization: `Bearer ${o.token.reveal()}` },
        handshakeTimeout: o.handshakeTimeoutMs,
        maxPayload: MAX_FRAME_BYTES,
        // Compression is not part of the protocol, and compressing secrets beside
        // attacker-influenced text invites length side channels.
        perMessageDeflate: false,
        followRedirects: false,
        ...(o.trust ? { secureContext: o.trust } : {}),
        ...o.transport,
      };
      const ws = new WebSocket(o.url, options);
      this.#ws = ws;
      ws.on('unexpected-response', (_req, res) => {
        // 401 (re-mint) and 403 (missing permission) call for different actions.
        refused.status = res.statusCode;
        res.resume();
        ws.terminate();
      });
      ws.on('open', () => {
        openedAt = o.clock.now();
        this.#sendJson(o.hello);
        o.clock.sleep(o.welcomeTimeoutMs, this.#timers.signal).then(
          () => {
            if (!this.#welcomed)
              this.terminate({ cause: 'no_welcome', reason: 'no welcome within the handshake timeout' });
          },
          () => undefined,
        );
      });
      ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
      ws.on('error', (e: Error & { code?: string }) => {
        if (openedAt === undefined) {
          refused.error ??= e;
          return;
        }
        // ws has already sent the close frame for these (1009 too big, 1007 bad UTF-8, 1002).
        this.#local ??=
          e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
            ? { cause: 'frame_too_big', reason: 'frame larger than 1 MiB' }
            : { cause: 'bad_frame', reason: `malformed frame (${e.code ?? e.message})` };
        o.log.warn({ site: o.site, reason: this.#local.reason }, 'closing the ECM channel');
      });
      ws.on('close', (code, reason) => {
        this.#timers.abort();
        clearInterval(this.#stallWatch);
        o.requests.channelClosed(this);
        if (openedAt === undefined)
          return resolve({
            opened: false,
            ...(refused.status === undefined ? {} : { status: refused.status }),
            ...(refused.status === undefined && refused.error ? { error: refused.error } : {}),
          });
        resolve({
          opened: true,
          welcomed: this.#welcomed,
          code,
          reason: reason.toString('utf8'),
          openedAt,
          closedAt: o.clock.now(),
          local: this.#local,
        });
      });
    });
  }

  send(frameJson: string): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(frameJson);
    return true;
  }

  /** Closes the channel with a close frame carrying `code` (1000, 1007, 1009, 4400...). */
  close(code: number, local: LocalClose): void {
    this.#local ??= local;
    if (code !== CLOSE.normal)
      this.o.log.warn({ site: this.o.site, code, reason: local.reason }, 'closing the ECM channel');
    this.#ws?.close(code, fitCloseReason(local.reason));
  }

  #sendJson(frame: object): boolean {
    return this.send(JSON.stringify(frame));
  }

  /** Tears the connection down at once (dead peer: a close handshake would never finish). */
  terminate(local: LocalClose): void {
    this.#local ??= local;
    this.o.log.warn({ site: this.o.site, reason: local.reason }, 'closing the ECM channel');
    this.#ws?.terminate();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    try {
      this.#handleMessage(data, isBinary);
    } catch (e) {
      // Nothing a peer sends may escape the event handler (it would be an uncaught exception).
      this.o.log.error({ site: this.o.site, err: e }, 'unexpected failure handling an ECM frame; ending the channel');
      this.terminate({ cause: 'bad_frame', reason: 'unexpected failure handling a frame' });
    }
  }

  #handleMessage(data: RawData, isBinary: boolean): void {
    let frame: Record<string, unknown>;
    try {
      if (isBinary) throw new Error('binary frame');
      // Without `isBinary` ws delivers a text frame as one Buffer, already checked as UTF-8.
      frame = JSON.parse((data as Buffer).toString('utf8')) as Record<string, unknown>;
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
    const bounded = welcomeSchema.safeParse(welcome);
    if (!bounded.success) {
      const reason = describeProblem('welcome', bounded.error);
      this.o.log.warn({ site: this.o.site, reason }, 'the appliance sent an invalid welcome; closing with 1007');
      return this.close(CLOSE.badFrame, { cause: 'bad_frame', reason });
    }
    this.#welcomed = true;
    if (typeof welcome.maxRequestMs === 'number' && welcome.maxRequestMs > 0) this.#maxRequestMs = welcome.maxRequestMs;
    this.o.onWelcome(welcome);
    const seconds =
      typeof welcome.heartbeatSeconds === 'number' && welcome.heartbeatSeconds > 0 ? welcome.heartbeatSeconds : 15;
    void this.#heartbeat(Math.max(HEARTBEAT_MIN_MS, seconds * 1000));
    this.#watchStalls();
  }

  /** Closes with 1001 when a timer due every quarter of `stallMs` fires more than `stallMs` late. */
  #watchStalls(): void {
    const every = Math.max(10, Math.floor(this.o.stallMs / 4));
    let last = performance.now();
    this.#stallWatch = setInterval(() => {
      const now = performance.now();
      const late = now - last - every;
      last = now;
      if (late <= this.o.stallMs) return;
      clearInterval(this.#stallWatch);
      this.close(CLOSE.goingAway, {
        cause: 'stalled',
        reason: `event loop stalled ${Math.round(late)} ms; handing the group to another ECM`,
      });
    }, every);
    this.#stallWatch.unref();
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
