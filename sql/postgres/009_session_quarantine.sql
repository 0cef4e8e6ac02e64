-- Migration 9 (PostgreSQL / PGlite): sessions the appliance reported that failed validation (a
-- lsid that is not a session id, a missing start time, ...). They are never written to
-- BGSessions; they are kept here so the operator can find them on the appliance, while
-- reporting moves on. Same model as sql/mssql/009_session_quarantine.sql.

-- One row per site and raw lsid. lsid_key is the SHA-256 (hex) of the whole raw lsid, so the same
-- bad session read again (the pull overlap, a failback re-read) is the same row whatever its
-- length; lsid keeps at most 100 characters of it (control characters shown as U+FFFD).
CREATE TABLE IF NOT EXISTS ecm_bridge.quarantined_session (
  site          varchar(255) NOT NULL,
  lsid_key      varchar(64)  NOT NULL,
  lsid          varchar(104) NOT NULL,
  reason        varchar(32)  NOT NULL,
  detail        varchar(300) NOT NULL,
  report_window varchar(200) NOT NULL,
  first_seen_at timestamptz  NOT NULL,
  last_seen_at  timestamptz  NOT NULL,
  CONSTRAINT quarantined_session_pk PRIMARY KEY (site, lsid_key)
);
CREATE INDEX IF NOT EXISTS quarantined_session__last_seen_at_ndx ON ecm_bridge.quarantined_session (last_seen_at);
