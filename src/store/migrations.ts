import { readdirSync, readFileSync } from 'node:fs';
import { isServiceError, ServiceError } from '../platform/errors.js';
import type { Health } from '../platform/health.js';
import { packagePath } from '../platform/package-path.js';

export type Dialect = 'mssql' | 'postgres';

/** One numbered file of sql/<dialect>/, e.g. `003_bgsessions_indexes.sql` → version 3. */
export interface Migration {
  version: number;
  name: string;
  /** The file's text, exactly as a DBA reads it. */
  sql: string;
}

/** sql/ at the package root. */
export const SQL_DIR = packagePath('sql/');

const NUMBERED = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/** The migrations of a dialect in version order. Other files there (the read-only login) are hand-run scripts. */
export function loadMigrations(dialect: Dialect, dir = SQL_DIR): Migration[] {
  const folder = `${dir}${dialect}/`;
  return readdirSync(folder)
    .map((file) => ({ file, m: NUMBERED.exec(file) }))
    .filter((x): x is { file: string; m: RegExpExecArray } => x.m !== null)
    .map(({ file, m }) => ({ version: Number(m[1]), name: m[2]!, sql: readFileSync(folder + file, 'utf8') }))
    .sort((a, b) => a.version - b.version);
}

/** Hand-run scripts of a dialect (not applied by `db migrate`), e.g. the read-only login. */
export function loadScripts(dialect: Dialect, dir = SQL_DIR): { file: string; sql: string }[] {
  const folder = `${dir}${dialect}/`;
  return readdirSync(folder)
    .filter((file) => file.endsWith('.sql') && !NUMBERED.test(file))
    .sort()
    .map((file) => ({ file, sql: readFileSync(folder + file, 'utf8') }));
}

/**
 * Splits a T-SQL script into the batches sqlcmd/SSMS would send: `GO` alone on a line ends a
 * batch (CREATE SCHEMA, CREATE VIEW and friends must start their own batch).
 */
export function splitBatches(script: string): string[] {
  return script
    .split(/^\s*GO\s*$/im)
    .map((b) => b.trim())
    .filter((b) => b.replace(/--[^\n]*$/gm, '').trim().length > 0);
}

/** The whole DDL of a dialect as `db print-sql` shows it: migrations in order, then hand-run scripts. */
export function printableSql(dialect: Dialect, dir = SQL_DIR): string {
  const parts = loadMigrations(dialect, dir).map(
    (m) => `-- ==== migration ${m.version}: ${m.name} ====\n${m.sql.trimEnd()}\n`,
  );
  for (const s of loadScripts(dialect, dir))
    parts.push(`-- ==== hand-run script: ${s.file} (not applied by db migrate) ====\n${s.sql.trimEnd()}\n`);
  return parts.join('\n');
}

/** Store.health for both adapters: reachable, and the schema is at the newest migration. */
export async function schemaHealth(version: () => Promise<number>, migrations: readonly Migration[]): Promise<Health> {
  try {
    const current = await version();
    const latest = migrations.at(-1)?.version ?? 0;
    if (current >= latest) return undefined;
    return new ServiceError(
      'store.migration_failed',
      `schema version ${current}, expected ${latest}: run \`ecm-bridge db migrate\``,
      { op: 'store.health', details: { current, latest } },
    );
  } catch (e) {
    return isServiceError(e)
      ? e
      : new ServiceError('store.unavailable', `cannot read the schema version: ${(e as Error).message}`, {
          op: 'store.health',
          cause: e,
        });
  }
}
