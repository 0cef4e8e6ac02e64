import type { QuarantinedSession, RejectReason } from '../reporting/report-store-port.js';

/** A row of ecm_bridge.quarantined_session (either dialect) as the port's QuarantinedSession. */
export function quarantinedFromRow(r: Record<string, unknown>): QuarantinedSession {
  return {
    site: String(r.site),
    lsidKey: String(r.lsid_key),
    lsid: String(r.lsid),
    reason: String(r.reason) as RejectReason,
    detail: String(r.detail),
    window: String(r.report_window),
    firstSeenAt: new Date(r.first_seen_at as Date),
    lastSeenAt: new Date(r.last_seen_at as Date),
  };
}
