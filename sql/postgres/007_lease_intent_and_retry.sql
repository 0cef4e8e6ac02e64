-- Migration 7 (PostgreSQL / PGlite): a lease whose check-in failed carries when the sweep retries
-- it, how many attempts failed and why it was being checked in (release, shutdown, ...), so the
-- sweep retries failed check-ins with backoff, not only expired leases.
-- Same model as sql/mssql/007_lease_intent_and_retry.sql.
ALTER TABLE ecm_bridge.lease
  ADD COLUMN IF NOT EXISTS checkin_attempts     integer     NULL,
  ADD COLUMN IF NOT EXISTS checkin_retry_at     timestamptz NULL,
  ADD COLUMN IF NOT EXISTS checkin_retry_reason varchar(16) NULL;
-- The sweep's "check-in retries due" lookup; only failed check-ins have a value.
CREATE INDEX IF NOT EXISTS lease__checkin_retry_at_ndx ON ecm_bridge.lease (checkin_retry_at);
-- A checkout is recorded as an intent before Password Safe is asked (lease whose vault request id
-- is '' until confirmed, audit row `requested`), so a crash or a lost answer always leaves a row
-- to recover. The column stays NOT NULL: SQL Server cannot relax an indexed column in place.
ALTER TABLE ecm_bridge.credential_event DROP CONSTRAINT IF EXISTS credential_event_outcome_check;
ALTER TABLE ecm_bridge.credential_event ADD CONSTRAINT credential_event_outcome_check
  CHECK (outcome IN ('requested', 'checked_out', 'checked_in', 'denied', 'failed', 'expired'));
