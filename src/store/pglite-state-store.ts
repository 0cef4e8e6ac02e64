import type { PGlite } from '@electric-sql/pglite';
import { ServiceError } from '../platform/errors.js';
import {
  CREDENTIAL_EVENT_COLUMNS,
  credentialEventFromRow,
  credentialEventPatch,
  credentialEventValues,
  LEASE_COLUMNS,
  leaseFromRow,
  leaseValues,
} from './state-rows.js';
import type { StoreMetrics } from './store-metrics.js';
import type { CheckinRecord, CredentialEvent, CredentialEventPatch, Lease } from '../broker/lease-store-port.js';
import type { StateStore } from './store-ports.js';

type DbRow = Record<string, unknown>;
const placeholders = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

/** StateStore on PGlite (schema ecm_bridge). Each method is one statement, hence atomic. */
export class PgliteStateStore implements StateStore {
  constructor(
    private readonly db: PGlite,
    private readonly metrics: StoreMetrics,
  ) {}

  async getCursor(key: string): Promise<string | undefined> {
    const rows = await this.#q<{ value: string }>(
      'getCursor',
      'SELECT value FROM ecm_bridge.report_cursor WHERE cursor_key = $1',
      [key],
    );
    return rows[0]?.value;
  }

  async setCursor(key: string, value: string): Promise<void> {
    await this.#q(
      'setCursor',
      `INSERT INTO ecm_bridge.report_cursor (cursor_key, value, updated_at) VALUES ($1, $2, now())
      ON CONFLICT (cursor_key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
      [key, value],
    );
  }

  async putLease(lease: Lease): Promise<void> {
    const set = LEASE_COLUMNS.slice(1)
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(', ');
    await this.#q(
      'putLease',
      `INSERT INTO ecm_bridge.lease (${LEASE_COLUMNS.join(', ')}) VALUES (${placeholders(LEASE_COLUMNS.length)})
      ON CONFLICT (lease_id) DO UPDATE SET ${set}`,
      leaseValues(lease),
    );
  }

  async getLease(leaseId: string): Promise<Lease | undefined> {
    const rows = await this.#q<DbRow>('getLease', 'SELECT * FROM ecm_bridge.lease WHERE lease_id = $1', [leaseId]);
    return rows[0] && leaseFromRow(rows[0]);
  }

  async takeLease(leaseId: string): Promise<Lease | undefined> {
    // One DELETE ... RETURNING: of two concurrent takers only the one that deleted the row gets it.
    const rows = await this.#q<DbRow>('takeLease', 'DELETE FROM ecm_bridge.lease WHERE lease_id = $1 RETURNING *', [
      leaseId,
    ]);
    return rows[0] && leaseFromRow(rows[0]);
  }

  async listLeases(filter: { owner?: string; expiresBefore?: Date }): Promise<Lease[]> {
    const rows = await this.#q<DbRow>(
      'listLeases',
      `SELECT * FROM ecm_bridge.lease
      WHERE ($1::varchar IS NULL OR owner = $1) AND ($2::timestamptz IS NULL OR expires_at < $2) ORDER BY expires_at, lease_id`,
      [filter.owner ?? null, filter.expiresBefore ?? null],
    );
    return rows.map(leaseFromRow);
  }

  async touchInstance(instanceId: string, at: Date): Promise<void> {
    await this.#q(
      'touchInstance',
      `INSERT INTO ecm_bridge.instance (instance_id, last_seen_at) VALUES ($1, $2)
      ON CONFLICT (instance_id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at`,
      [instanceId, at],
    );
  }

  async staleInstances(before: Date): Promise<string[]> {
    const rows = await this.#q<{ instance_id: string }>(
      'staleInstances',
      'SELECT instance_id FROM ecm_bridge.instance WHERE last_seen_at < $1 ORDER BY instance_id',
      [before],
    );
    return rows.map((r) => r.instance_id);
  }

  async recordCredentialEvent(event: CredentialEvent): Promise<number> {
    const rows = await this.#q<{ id: number }>(
      'recordCredentialEvent',
      `INSERT INTO ecm_bridge.credential_event (${CREDENTIAL_EVENT_COLUMNS.join(', ')}) VALUES (${placeholders(CREDENTIAL_EVENT_COLUMNS.length)}) RETURNING id`,
      credentialEventValues(event),
    );
    return Number(rows[0]!.id);
  }

  async updateCredentialEvent(id: number, patch: CredentialEventPatch): Promise<void> {
    const pairs = credentialEventPatch(patch);
    if (pairs.length === 0) return;
    await this.#q(
      'updateCredentialEvent',
      `UPDATE ecm_bridge.credential_event SET ${pairs.map(([c], i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1`,
      [id, ...pairs.map(([, v]) => v)],
    );
  }

  async listCredentialEvents(filter: {
    lsid?: string;
    limit?: number;
  }): Promise<(CredentialEvent & CheckinRecord & { id: number })[]> {
    const rows = await this.#q<DbRow>(
      'listCredentialEvents',
      `SELECT * FROM (SELECT * FROM ecm_bridge.credential_event
      WHERE ($1::varchar IS NULL OR lsid = $1) ORDER BY id DESC LIMIT $2) newest ORDER BY id`,
      [filter.lsid ?? null, filter.limit ?? 1000],
    );
    return rows.map(credentialEventFromRow);
  }

  async #q<T>(op: string, sql: string, params: unknown[]): Promise<T[]> {
    try {
      return (await this.db.query<T>(sql, params)).rows;
    } catch (e) {
      this.metrics.failed(op, 'store.write_failed');
      throw new ServiceError('store.write_failed', `store ${op} failed: ${(e as Error).message}`, {
        op: `store.${op}`,
        cause: e,
      });
    }
  }
}
