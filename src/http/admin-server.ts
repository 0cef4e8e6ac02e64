import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { isServiceError, ServiceError } from '../platform/errors.js';
import type { Component } from '../platform/lifecycle.js';

/** A request body is a few fields; anything larger is refused before it is read whole. */
const MAX_BODY_BYTES = 4096;

/** One line of a streamed answer (NDJSON): progress events, then `done` or `error`. */
export type AdminEvent = { event: string } & Record<string, unknown>;

/** What the running bridge does for an operator's command (src/app/units/admin-unit.ts builds it). */
export interface AdminHandlers {
  /** Who answers: the operator's command prints it ("through the running bridge, pid N"). */
  hello(): { pid: number; version: string };
  /** Runs to completion, calling `emit` for progress; ends early (rejecting) when `signal` aborts. */
  stream(op: string, body: unknown, emit: (e: AdminEvent) => void, signal: AbortSignal): Promise<AdminEvent>;
}

/**
 * The bridge's local admin channel: HTTP on a Unix socket beside the embedded store's data
 * directory, mode 0600 (only the service's user, and root, may connect). PGlite admits one
 * process per data directory, so while `serve` holds it, `report backfill`, `check` and `db
 * migrate` ask the running bridge to do their store work here instead of failing on the lock.
 *
 * `POST /v1/<op>` with a JSON body answers 200 with NDJSON: `{"event":"accepted","id":N}`, any
 * progress events, then one final `done` or `error` event. `DELETE /v1/jobs/<id>` cancels a
 * running op (its stream then ends with the cancellation's `error`), as does the client closing
 * its connection (a killed command). `GET /v1/hello` names the process.
 */
export class AdminServer implements Component {
  readonly name = 'admin-socket';
  #server: Server | undefined;
  readonly #jobs = new Map<number, AbortController>();
  #nextId = 1;

  constructor(
    readonly socketPath: string,
    private readonly handlers: AdminHandlers,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    // Only the holder of the data directory starts this, so a socket file left there is a dead
    // holder's: replace it.
    try {
      unlinkSync(this.socketPath);
    } catch {
      // none left
    }
    const server = createServer((req, res) => void this.#route(req, res));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
      chmodSync(this.socketPath, 0o600);
    } catch (e) {
      // A convenience for operators, never a reason not to serve (a path over the 107 bytes a
      // Unix socket name may have, a read-only directory): say what they lose.
      server.close();
      this.log.warn(
        { component: 'admin', socket: this.socketPath, err: e },
        'admin socket not available: report backfill, check and db migrate cannot run beside this serve',
      );
      return;
    }
    this.#server = server;
    this.log.info({ component: 'admin', socket: this.socketPath }, 'admin socket listening');
  }

  async stop(): Promise<void> {
    for (const job of this.#jobs.values())
      job.abort(new ServiceError('service.shutting_down', 'the bridge is stopping', { op: 'admin' }));
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === '/v1/hello') return json(res, 200, this.handlers.hello());
    const cancel = /^\/v1\/jobs\/(\d{1,9})$/.exec(url);
    if (req.method === 'DELETE' && cancel) {
      const job = this.#jobs.get(Number(cancel[1]));
      job?.abort(new ServiceError('service.shutting_down', 'cancelled by the operator', { op: 'admin' }));
      return json(res, job ? 200 : 404, { cancelled: Boolean(job) });
    }
    const op = /^\/v1\/([a-z][a-z.-]{0,40})$/.exec(url)?.[1];
    if (req.method !== 'POST' || !op)
      return json(res, 404, { error: `no admin route ${req.method} ${url.slice(0, 80)}` });
    let body: unknown;
    try {
      body = await readJson(req);
    } catch (e) {
      return json(res, 400, { error: (e as Error).message });
    }
    const id = this.#nextId++;
    const abort = new AbortController();
    this.#jobs.set(id, abort);
    // A client that goes away (Ctrl-C handled by closing, kill -9) cancels its job.
    res.on('close', () => {
      if (!res.writableFinished)
        abort.abort(new ServiceError('service.shutting_down', 'the command went away', { op: 'admin' }));
    });
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const emit = (e: AdminEvent) => {
      if (!res.destroyed) res.write(`${JSON.stringify(e)}\n`);
    };
    emit({ event: 'accepted', id, pid: process.pid });
    try {
      emit(await this.handlers.stream(op, body, emit, abort.signal));
    } catch (e) {
      if (!isServiceError(e)) this.log.error({ err: e, op }, 'admin request failed');
      emit(
        isServiceError(e)
          ? { event: 'error', code: e.code, message: e.message }
          : { event: 'error', code: 'internal', message: 'internal error (see the bridge log)' },
      );
    } finally {
      this.#jobs.delete(id);
      res.end();
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    throw new Error('request body is not JSON');
  }
}
