import type { Health } from '../platform/health.js';
import type { LeaseStore } from '../broker/lease-store-port.js';
import type {
  CursorStore,
  FailbackStore,
  LeaderLeases,
  LeaderLock,
  ReportStore,
} from '../reporting/report-store-port.js';

/** The bridge's own tables (schema `ecm_bridge`): the broker's leases and audit, the worker's cursors. */
export interface StateStore extends LeaseStore, CursorStore {}

/** One database: both stores, the lock, migrations. Built by the composition root from config. */
export interface Store {
  readonly reports: ReportStore;
  readonly state: StateStore;
  /** Serialises migrations across processes. */
  readonly lock: LeaderLock;
  /** The reporting leadership (a lease every reporting commit is fenced by). */
  readonly leadership: LeaderLeases;
  /** The reporting worker's failback state per site (fenced like the reporting commits). */
  readonly failback: FailbackStore;
  /** Applies pending migrations; safe to run from several processes at once. Returns the version. */
  migrate(): Promise<number>;
  schemaVersion(): Promise<number>;
  /** Reachable, and the schema at the newest migration; else the failure (platform/health.ts). */
  health(): Promise<Health>;
  close(): Promise<void>;
}
