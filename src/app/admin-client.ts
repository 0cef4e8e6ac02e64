import { existsSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { AdminEvent } from '../http/admin-server.js';
import { ERROR_CATALOGUE, ServiceError, type ErrorCode } from '../platform/errors.js';
import { MEMORY_DATA_DIR } from '../store/pglite/cluster.js';
import type { StoreConfig } from '../store/store-config.js';

/** The admin socket of the `serve` holding an embedded data directory: beside it, like its lock file. */
export function adminSocketPath(dataDir: string): string {
  return `${resolve(dataDir).replace(/\/+$/, '')}.admin.sock`;
}

/**
 * How long a command waits for the running bridge to say who it is. Not a deadline on any work:
 * a bridge that cannot answer this in that time is stuck, and the operator is told so.
 */
const HELLO_WAIT_MS = 15_000;

/** The `serve` that holds this host's embedded store, reached through its admin socket. */
export class RunningBridge {
  private constructor(
    readonly socketPath: string,
    readonly pid: number,
  ) {}

  /**
   * The running bridge for `store`, or undefined when there is none to ask: SQL Server (every
   * process opens it itself), an in-memory store, no socket, or a socket nobody listens on any
   * more (a killed `serve`; opening the store then takes its lock over).
   */
  static async find(store: StoreConfig): Promise<RunningBridge | undefined> {
    if (store.kind !== 'embedded' || store.dataDir === MEMORY_DATA_DIR) return undefined;
    const socketPath = adminSocketPath(store.dataDir);
    if (!existsSync(socketPath)) return undefined;
    try {
      const res = await send(socketPath, 'GET', '/v1/hello', undefined, AbortSignal.timeout(HELLO_WAIT_MS));
      const hello = JSON.parse(await text(res)) as { pid: number };
      return new RunningBridge(socketPath, hello.pid);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ECONNREFUSED' || code === 'ENOENT') return undefined;
      throw new ServiceError(
        'store.unavailable',
        `the bridge holding ${store.dataDir} does not answer on its admin socket ${socketPath} (${code ?? (e as Error).name})`,
        { op: 'admin', cause: e },
      );
    }
  }

  /**
   * Runs `op` in the bridge, passing its progress events to `onEvent`, and returns its final
   * `done` event. When `signal` aborts, the bridge is asked to cancel and the cancellation's
   * error is thrown once it has stopped (what it committed stays).
   */
  async run<Done extends object>(
    op: string,
    body: unknown,
    onEvent: (e: AdminEvent) => void,
    signal?: AbortSignal,
  ): Promise<Done> {
    const res = await send(this.socketPath, 'POST', `/v1/${op}`, JSON.stringify(body));
    if (res.statusCode !== 200)
      throw new ServiceError('cli.usage', `the running bridge refused ${op}: ${await text(res)}`, { op: 'admin' });
    let cancel: (() => void) | undefined;
    try {
      for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
        if (!line) continue;
        const e = JSON.parse(line) as AdminEvent;
        if (e.event === 'accepted') {
          const id = e.id as number;
          cancel = () => void send(this.socketPath, 'DELETE', `/v1/jobs/${id}`).then(text, () => undefined);
          if (signal?.aborted) cancel();
          else signal?.addEventListener('abort', cancel, { once: true });
        } else if (e.event === 'done')
          return e as unknown as Done; // the op's own answer (admin-unit.ts)
        else if (e.event === 'error') throw remoteError(e);
        else onEvent(e);
      }
    } finally {
      if (cancel) signal?.removeEventListener('abort', cancel);
    }
    throw new ServiceError('store.unavailable', `the running bridge (pid ${this.pid}) ended ${op} without a result`, {
      op: 'admin',
    });
  }
}

function remoteError(e: AdminEvent): ServiceError {
  const code = e.code as string;
  const message = String(e.message);
  return Object.hasOwn(ERROR_CATALOGUE, code)
    ? new ServiceError(code as ErrorCode, message, { op: 'admin' })
    : new ServiceError('store.unavailable', `the running bridge failed: ${message}`, { op: 'admin' });
}

function send(socketPath: string, method: string, path: string, body?: string, signal?: AbortSignal) {
  return new Promise<IncomingMessage>((resolvePromise, reject) => {
    // agent: false: a connection per request; a pooled keep-alive one could outlive the server it reached.
    const req = request({
      socketPath,
      method,
      path,
      signal,
      agent: false,
      headers: { 'content-type': 'application/json' },
    });
    req.once('response', resolvePromise);
    req.once('error', reject);
    req.end(body);
  });
}

async function text(res: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of res) s += String(chunk);
  return s;
}
