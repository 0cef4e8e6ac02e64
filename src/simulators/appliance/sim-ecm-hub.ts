import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  CLOSE,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type HelloFrame,
  type RequestContext,
  type WelcomeFrame,
  type WireError,
} from '../../protocol/ecm-protocol.js';
import type { SimAccount } from './sim-accounts.js';

/** What the simulated console got back for one request. */
export interface ConsoleOutcome {
  id: string;
  /** `ecm`: the bridge answered; `appliance`: the appliance answered for it (timeout, no ECM, channel closed). */
  answeredBy: 'ecm' | 'appliance';
  ecmInstanceId?: string;
  result?: unknown;
  error?: WireError;
  /** Why the appliance answered itself. */
  applianceReason?: 'timeout' | 'no_ecm' | 'channel_closed';
}

export interface EcmHubOptions {
  site: WelcomeFrame['site'];
  heartbeatMs: number;
  maxRequestMs: number;
  helloTimeoutMs: number;
  log: Logger;
}

interface Pending {
  resolve: (o: ConsoleOutcome) => void;
  timer: NodeJS.Timeout;
}

interface Conn {
  ws: WebSocket;
  account: SimAccount;
  /** Seniority: lower connected earlier (kept when the same instance replaces its own channel). */
  seq: number;
  hello?: HelloFrame;
  role?: 'active' | 'standby';
  awaitingPong: boolean;
  missedPongs: number;
  /** The channel's own heartbeat, started at the welcome at the interval agreed there. */
  heartbeat?: NodeJS.Timeout;
  heartbeatMs?: number;
  pending: Map<string, Pending>;
  /** Ids already answered or expired, to tell duplicate and late answers apart (bounded). */
  finished: Map<string, 'answered' | 'expired'>;
}

const FINISHED_CAP = 10_000;

/**
 * The appliance side of the ECM channel (protocol v1, docs/protocol.md): handshake, roles by
 * connection age within an ECM group, heartbeat with three missed pongs, request routing to the
 * group's active ECM with deadlines the appliance enforces itself, close codes and frame limits.
 */
export class SimEcmHub {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  readonly #conns = new Set<Conn>();
  #seq = 0;
  #muted = false;
  /** Close codes of ended channels, as seen by the appliance. */
  readonly closeCodes = new Map<number, number>();
  readonly stats = {
    welcomed: 0,
    badFrames: 0,
    lateResponses: 0,
    duplicateResponses: 0,
    unknownResponses: 0,
    requests: 0,
    deadPeers: 0,
    /** Answers to the appliance's heartbeat pings: tests count heartbeats instead of sleeping. */
    pongs: 0,
  };

  constructor(private readonly options: EcmHubOptions) {}

  /** Takes over an authenticated upgrade request. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, account: SimAccount): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(ws, account));
  }

  /**
   * Sends one console request to the group's active ECM and resolves with whatever answers it.
   * `op` is whatever the test wants on the wire (hostile values included), not only an `Op`.
   */
  request(
    group: string,
    op: unknown,
    context: RequestContext,
    params: unknown,
    deadlineMs = this.options.maxRequestMs,
    id: string = randomUUID(),
  ): Promise<ConsoleOutcome> {
    return this.sendRequest(
      group,
      id,
      JSON.stringify({ type: 'request', id, op, deadlineMs, context, params }),
      deadlineMs,
    );
  }

  /**
   * Sends a request frame exactly as given (tests send hostile ones: a 100,000-deep `op`, a
   * repeated id) and resolves like `request` with whatever answers `id`.
   */
  sendRequest(
    group: string,
    id: string,
    frameText: string,
    deadlineMs = this.options.maxRequestMs,
  ): Promise<ConsoleOutcome> {
    this.stats.requests++;
    const conn = this.#active(group);
    if (!conn) {
      return Promise.resolve({
        id,
        answeredBy: 'appliance',
        applianceReason: 'no_ecm',
        error: { code: 'internal', message: `no ECM connected for group ${group}`, retryable: true },
      });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        // A repeated id replaced this console's entry: the later one still waits for the answer.
        if (conn.pending.get(id) === entry) {
          conn.pending.delete(id);
          this.#finish(conn, id, 'expired');
        }
        resolve({
          id,
          answeredBy: 'appliance',
          applianceReason: 'timeout',
          error: { code: 'timeout', message: 'the credential manager did not answer in time', retryable: true },
        });
      }, deadlineMs);
      const entry: Pending = { resolve, timer };
      conn.pending.set(id, entry);
      conn.ws.send(frameText);
    });
  }

  connections(): { instanceId?: string; group: string; role?: string; clientId: string; heartbeatMs?: number }[] {
    return this.#ordered().map((c) => ({
      instanceId: c.hello?.ecm.instanceId,
      group: c.account.ecmGroup,
      role: c.role,
      clientId: c.account.clientId,
      heartbeatMs: c.heartbeatMs,
    }));
  }

  /** What each connected ECM announced in its hello (name and version), in connection order. */
  announced(): { name: string; version: string }[] {
    return this.#ordered().map((c) => ({ name: c.hello?.ecm.name ?? '', version: c.hello?.ecm.version ?? '' }));
  }

  /** Closes every channel with `code` (1001 for a restart or failover). */
  closeAll(code: number, reason: string): void {
    for (const c of this.#conns) c.ws.close(code, reason);
  }

  /** A network drop: sockets vanish without a close frame. */
  dropAll(): void {
    for (const c of this.#conns) c.ws.terminate();
  }

  /** Closes the channels of one account (e.g. its permission was revoked). */
  closeAccount(clientId: string, code: number, reason: string): void {
    for (const c of this.#conns) if (c.account.clientId === clientId) c.ws.close(code, reason);
  }

  /** Test hook: sends raw text (malformed or oversized frames) to the channel of `instanceId`. */
  sendRaw(instanceId: string, data: string): void {
    for (const c of this.#conns) if (c.hello?.ecm.instanceId === instanceId) c.ws.send(data);
  }

  /**
   * A half-dead network: while muted the appliance neither pings nor answers pings, so the ECM
   * must notice through its missed pongs.
   */
  mute(muted: boolean): void {
    this.#muted = muted;
  }

  stop(): void {
    for (const c of this.#conns) clearInterval(c.heartbeat);
    this.dropAll();
    this.#wss.close();
  }

  #open(ws: WebSocket, account: SimAccount): void {
    const conn: Conn = {
      ws,
      account,
      seq: ++this.#seq,
      awaitingPong: false,
      missedPongs: 0,
      pending: new Map(),
      finished: new Map(),
    };
    this.#conns.add(conn);
    const helloTimer = setTimeout(() => ws.close(1002, 'hello not received in time'), this.options.helloTimeoutMs);
    ws.on('message', (data, isBinary) => this.#onFrame(conn, data, isBinary));
    ws.on('close', (code) => {
      clearTimeout(helloTimer);
      clearInterval(conn.heartbeat);
      this.#closed(conn, code);
    });
    ws.on('error', (e) => this.options.log.debug({ err: e, clientId: account.clientId }, 'ecm channel error'));
    ws.once('message', () => clearTimeout(helloTimer));
  }

  #onFrame(conn: Conn, data: RawData, isBinary: boolean): void {
    let frame: { type?: unknown; [k: string]: unknown };
    try {
      if (isBinary) throw new Error('binary frame');
      frame = JSON.parse(data.toString());
      if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) throw new Error('not an object');
    } catch {
      this.stats.badFrames++;
      conn.ws.close(CLOSE.badFrame, 'frame is not a JSON object');
      return;
    }
    if (!conn.hello) return this.#onHello(conn, frame);
    switch (frame.type) {
      case 'ping':
        if (!this.#muted) conn.ws.send(JSON.stringify({ type: 'pong', t: frame.t }));
        return;
      case 'pong':
        this.stats.pongs++;
        conn.awaitingPong = false;
        conn.missedPongs = 0;
        return;
      case 'response':
        return this.#onResponse(conn, frame);
      default:
        return; // unknown types are ignored (forward compatibility)
    }
  }

  #onHello(conn: Conn, frame: Record<string, unknown>): void {
    if (frame.type !== 'hello') return conn.ws.close(1002, 'first frame must be hello');
    if (frame.protocol !== PROTOCOL_VERSION)
      return conn.ws.close(
        CLOSE.unsupportedProtocol,
        `unsupported protocol ${String(frame.protocol)}; this appliance speaks ${PROTOCOL_VERSION}`,
      );
    const hello = frame as unknown as HelloFrame;
    if (typeof hello.ecm?.instanceId !== 'string' || hello.ecm.instanceId === '')
      return conn.ws.close(1002, 'hello.ecm.instanceId is required');
    const group = conn.account.ecmGroup;
    const previous = [...this.#conns].find(
      (c) => c !== conn && c.hello?.ecm.instanceId === hello.ecm.instanceId && c.account.ecmGroup === group,
    );
    if (previous) {
      // The same process reconnected: it keeps its seniority, the old channel is closed.
      conn.seq = previous.seq;
      this.#conns.delete(previous);
      previous.ws.close(CLOSE.replaced, 'replaced by a new channel of the same instance');
      this.#failPending(previous);
    }
    conn.hello = hello;
    conn.role = this.#active(group) === conn ? 'active' : 'standby';
    this.stats.welcomed++;
    // The ECM may ask for a shorter heartbeat (never below 1 s): a frozen ECM is noticed sooner.
    const asked = typeof hello.heartbeatSeconds === 'number' ? Math.max(1, hello.heartbeatSeconds) * 1000 : Infinity;
    const heartbeatMs = Math.min(this.options.heartbeatMs, asked);
    conn.heartbeatMs = heartbeatMs;
    conn.heartbeat = setInterval(() => this.#beat(conn), heartbeatMs);
    conn.heartbeat.unref();
    const welcome: WelcomeFrame = {
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      site: this.options.site,
      group,
      role: conn.role,
      heartbeatSeconds: heartbeatMs / 1000,
      maxRequestMs: this.options.maxRequestMs,
    };
    conn.ws.send(JSON.stringify(welcome));
  }

  #onResponse(conn: Conn, frame: Record<string, unknown>): void {
    const id = typeof frame.id === 'string' ? frame.id : '';
    const pending = conn.pending.get(id);
    if (!pending) {
      const seen = conn.finished.get(id);
      if (seen === 'answered') this.stats.duplicateResponses++;
      else if (seen === 'expired') this.stats.lateResponses++;
      else this.stats.unknownResponses++;
      return;
    }
    clearTimeout(pending.timer);
    conn.pending.delete(id);
    this.#finish(conn, id, 'answered');
    const outcome: ConsoleOutcome = { id, answeredBy: 'ecm', ecmInstanceId: conn.hello?.ecm.instanceId };
    if (frame.error !== undefined) outcome.error = frame.error as WireError;
    else outcome.result = frame.result;
    pending.resolve(outcome);
  }

  #closed(conn: Conn, code: number): void {
    this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
    if (!this.#conns.delete(conn)) return;
    this.options.log.debug({ clientId: conn.account.clientId, code }, 'ecm channel closed');
    this.#failPending(conn);
    if (conn.role === 'active') {
      const next = this.#active(conn.account.ecmGroup);
      if (next && next.role !== 'active') {
        next.role = 'active';
        next.ws.send(JSON.stringify({ type: 'role', role: 'active' }));
      }
    }
  }

  #failPending(conn: Conn): void {
    for (const [id, p] of conn.pending) {
      clearTimeout(p.timer);
      p.resolve({
        id,
        answeredBy: 'appliance',
        applianceReason: 'channel_closed',
        error: { code: 'internal', message: 'the credential manager disconnected before answering', retryable: true },
      });
    }
    conn.pending.clear();
  }

  #finish(conn: Conn, id: string, how: 'answered' | 'expired'): void {
    conn.finished.set(id, how);
    if (conn.finished.size > FINISHED_CAP) conn.finished.delete(conn.finished.keys().next().value as string);
  }

  #beat(c: Conn): void {
    if (this.#muted) return;
    if (c.awaitingPong && ++c.missedPongs >= 3) {
      this.stats.deadPeers++;
      c.ws.terminate();
      return;
    }
    c.awaitingPong = true;
    c.ws.send(JSON.stringify({ type: 'ping', t: Date.now() }));
  }

  #ordered(): Conn[] {
    return [...this.#conns].filter((c) => c.hello).sort((a, b) => a.seq - b.seq);
  }

  /** The longest-connected welcomed ECM of the group. */
  #active(group: string): Conn | undefined {
    return this.#ordered().find((c) => c.account.ecmGroup === group);
  }
}
