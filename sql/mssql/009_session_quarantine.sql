-- Migration 9 (SQL Server): sessions the appliance reported that failed validation (a lsid that
-- is not a session id, a missing start time, ...). They are never written to BGSessions; they are
-- kept here so the operator can find them on the appliance, while reporting moves on.
-- Same model as sql/postgres/009_session_quarantine.sql.

-- One row per site and raw lsid. lsid_key is the SHA-256 (hex) of the whole raw lsid, so the same
-- bad session read again (the pull overlap, a failback re-read) is the same row whatever its
-- length; lsid keeps at most 100 characters of it (control characters shown as U+FFFD).
IF OBJECT_ID(N'ecm_bridge.quarantined_session', N'U') IS NULL
CREATE TABLE ecm_bridge.quarantined_session (
  site          nvarchar(255) NOT NULL,
  lsid_key      nvarchar(64)  NOT NULL,
  lsid          nvarchar(104) NOT NULL,
  reason        nvarchar(32)  NOT NULL,
  detail        nvarchar(300) NOT NULL,
  report_window nvarchar(200) NOT NULL,
  first_seen_at datetime2(3)  NOT NULL,
  last_seen_at  datetime2(3)  NOT NULL,
  CONSTRAINT quarantined_session_pk PRIMARY KEY (site, lsid_key)
);
GO
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.quarantined_session') AND name = N'quarantined_session__last_seen_at_ndx')
  CREATE INDEX quarantined_session__last_seen_at_ndx ON ecm_bridge.quarantined_session (last_seen_at);
GO
