-- Migration 5 (PostgreSQL / PGlite): who checked a lease in and why.
-- Same model as sql/mssql/005_credential_event_checkin.sql.
ALTER TABLE ecm_bridge.credential_event
  ADD COLUMN IF NOT EXISTS checkin_by     varchar(128) NULL,
  ADD COLUMN IF NOT EXISTS checkin_reason varchar(16)  NULL;
