import type sql from 'mssql';
import { Connection, Request, TYPES, type ConnectionConfiguration } from 'tedious';
import { ServiceError } from '../../platform/errors.js';
import type { LeaderLock, LockHandle } from '../../reporting/report-store-port.js';
import { connectError, connectionSettings, type MssqlConfig } from './connection.js';
import { GET_APPLOCK_SQL, RELEASE_APPLOCK_SQL } from './sql.js';

/**
 * One SQL Server session of its own, for a leader lock: a bare tedious connection (the driver
 * under mssql). Why not an mssql pool of one connection, as before: opening a pool logs in twice
 * (a test connection it closes at once, then the one it keeps), and every try of a replica that
 * stands by opens a session. The login is the expensive part of a try: 120-130 ms of server CPU
 * each on the CI's T-SQL engine, where polling replicas made it most of a replica test's cost.
 */
class LockSession {
  private constructor(private readonly conn: Connection) {}

  static async open(settings: sql.config, requestTimeoutMs: number): Promise<LockSession> {
    const conn = new Connection({
      server: settings.server,
      authentication: { type: 'default', options: { userName: settings.user, password: settings.password } },
      options: {
        ...(settings.options as ConnectionConfiguration['options']),
        port: settings.port,
        database: settings.database,
        connectTimeout: settings.connectionTimeout,
        requestTimeout: requestTimeoutMs,
      },
    });
    // A session lost later takes its lock with it (the server releases a session's applocks);
    // without a listener, tedious' 'error' event would end the process.
    conn.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => conn.connect((e) => (e ? reject(e) : resolve())));
    return new LockSession(conn);
  }

  /** Runs `text` with @resource (and @timeoutMs when given); resolves with the first column of its first row. */
  run(text: string, resource: string, timeoutMs?: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let first: unknown;
      const request = new Request(text, (e) => (e ? reject(e) : resolve(first)));
      request.addParameter('resource', TYPES.NVarChar, resource, { length: 255 });
      if (timeoutMs !== undefined) request.addParameter('timeoutMs', TYPES.Int, timeoutMs);
      request.on('row', (columns: { value: unknown }[]) => (first ??= columns[0]?.value));
      this.conn.execSql(request);
    });
  }

  close(): Promise<void> {
    if (this.conn.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.conn.once('end', () => resolve());
      this.conn.close();
    });
  }
}

/**
 * Leader lock on SQL Server: sp_getapplock (Exclusive, Session owner) taken on a session of its
 * own, so the lock lives exactly as long as that session; if the holder dies, the server releases
 * it. `waitMs` 0 means try once (tryAcquire); migrations wait. Serves the migration lock: the
 * reporting leadership is a lease with an expiry (leader-leases.ts), since a session that
 * lives on while its process hangs would keep this lock for as long as the hang.
 */
export class MssqlLeaderLock implements LeaderLock {
  constructor(private readonly config: MssqlConfig) {}

  tryAcquire(name: string): Promise<LockHandle | undefined> {
    return this.acquire(name, 0);
  }

  async acquire(name: string, waitMs: number): Promise<LockHandle | undefined> {
    // The request timeout outlasts the wait for the lock. A try that fails closes its session
    // rather than keeping it for the next try: on the T-SQL engine of the CI (Babelfish 4.3) about
    // five refused sp_getapplock calls on one session crash the server (PANIC: ERRORDATA_STACK_SIZE exceeded).
    let session: LockSession;
    try {
      session = await LockSession.open(
        connectionSettings(this.config),
        Math.max(this.config.requestTimeoutMs, waitMs + 15_000),
      );
    } catch (e) {
      throw e instanceof ServiceError ? e : connectError(this.config, e);
    }
    try {
      if (Number(await session.run(GET_APPLOCK_SQL, name, waitMs)) < 0) {
        await session.close();
        return undefined;
      }
    } catch (e) {
      await session.close();
      throw new ServiceError('store.unavailable', `cannot take the database lock ${name}: ${(e as Error).message}`, {
        op: 'store.lock',
        cause: e,
      });
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        try {
          await session.run(RELEASE_APPLOCK_SQL, name);
        } finally {
          await session.close();
        }
      },
    };
  }
}
