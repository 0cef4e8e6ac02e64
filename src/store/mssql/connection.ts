import { readFileSync } from 'node:fs';
import type sql from 'mssql';
import { ServiceError } from '../../platform/errors.js';
import type { StoreConfig } from '../store-config.js';

export type MssqlConfig = Extract<StoreConfig, { kind: 'mssql' }>;

/** How long a login may take before it counts as failed. */
const CONNECT_TIMEOUT_MS = 15_000;

/**
 * The mssql settings of a connection to the configured server, without pool sizes: the one place
 * the `store` section becomes driver settings (the leader lock's bare sessions derive theirs from it).
 */
export function connectionSettings(c: MssqlConfig): sql.config {
  let ca: Buffer | undefined;
  try {
    ca = c.caFile ? readFileSync(c.caFile) : undefined;
  } catch (e) {
    throw new ServiceError(
      'store.unavailable',
      `cannot read store.caFile ${c.caFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      { op: 'store.open', cause: e },
    );
  }
  return {
    server: c.server,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password.reveal(),
    requestTimeout: c.requestTimeoutMs,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    options: {
      encrypt: c.encrypt,
      trustServerCertificate: false,
      appName: 'ecm-bridge',
      ...(ca ? { cryptoCredentialsDetails: { ca } } : {}),
    },
  };
}

/** Names the server and account, never the password, for any failure to connect. */
export function connectError(c: MssqlConfig, e: unknown): ServiceError {
  const reason = (e as Error | undefined)?.message ?? 'connection failed';
  return new ServiceError(
    'store.unavailable',
    `cannot connect to SQL Server ${c.server}:${c.port} database ${c.database} as ${c.user}: ${reason}`,
    { op: 'store.open', cause: e },
  );
}
