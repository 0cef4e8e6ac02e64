import type { FailbackState } from '../reporting/report-store-port.js';

/** A failback_state row's columns (migration 012 of both dialects), as both SQL adapters bind and read them. */
export interface FailbackRow {
  primary_node: string | null;
  reread_from: Date | null;
  sync_after: Date | null;
}

export function failbackRow(state: FailbackState): FailbackRow {
  return {
    primary_node: state.primary,
    reread_from: state.reread ? new Date(state.reread.fromMs) : null,
    sync_after: state.reread ? new Date(state.reread.syncAfterMs) : null,
  };
}

/** Times come back as Date (PGlite, the mssql driver); the CHECK keeps both times set or both null. */
export function failbackFromRow(row: Record<string, unknown>): FailbackState {
  const from = row.reread_from as Date | null;
  const after = row.sync_after as Date | null;
  return {
    primary: (row.primary_node as string | null) ?? null,
    ...(from && after ? { reread: { fromMs: from.getTime(), syncAfterMs: after.getTime() } } : {}),
  };
}
