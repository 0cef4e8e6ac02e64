-- Migration 7 (PostgreSQL / PGlite): a lease whose check-in failed carries when the sweep retries
-- it, how many attempts failed and why it was being checked in (release, shutdown, ...), so the
-- sweep retries failed check-ins with backoff, not only expired leases.
-- Same model as sql/mssql/007_lease_checkin_retry.sql.
ALTER TABLE ecm_bridge.lease
  ADD COLUMN IF NOT EXISTS checkin_attempts     integer     NULL,
  ADD COLUMN IF NOT EXISTS checkin_retry_at     timestamptz NULL,
  ADD COLUMN IF NOT EXISTS checkin_retry_reason varchar(16) NULL;
-- The sweep's "check-in retries due" lookup; only failed check-ins have a value.
CREATE INDEX IF NOT EXISTS lease__checkin_retry_at_ndx ON ecm_bridge.lease (checkin_retry_at);
