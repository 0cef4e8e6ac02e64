-- Migration 7 (SQL Server): a lease whose check-in failed carries when the sweep retries it, how
-- many attempts failed and why it was being checked in (release, shutdown, ...), so the sweep
-- retries failed check-ins with backoff, not only expired leases.
-- Same model as sql/postgres/007_lease_intent_and_retry.sql.
IF COL_LENGTH(N'ecm_bridge.lease', N'checkin_attempts') IS NULL
  ALTER TABLE ecm_bridge.lease ADD checkin_attempts int NULL;
GO
IF COL_LENGTH(N'ecm_bridge.lease', N'checkin_retry_at') IS NULL
  ALTER TABLE ecm_bridge.lease ADD checkin_retry_at datetime2(3) NULL;
GO
IF COL_LENGTH(N'ecm_bridge.lease', N'checkin_retry_reason') IS NULL
  ALTER TABLE ecm_bridge.lease ADD checkin_retry_reason nvarchar(16) NULL;
GO
-- The sweep's "check-in retries due" lookup; only failed check-ins have a value.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.lease') AND name = N'lease__checkin_retry_at_ndx')
  CREATE INDEX lease__checkin_retry_at_ndx ON ecm_bridge.lease (checkin_retry_at);
GO
-- A checkout is recorded as an intent before Password Safe is asked (lease whose vault request id
-- is '' until confirmed, audit row `requested`), so a crash or a lost answer always leaves a row
-- to recover. The column stays NOT NULL: SQL Server cannot relax an indexed column in place.
IF OBJECT_ID(N'ecm_bridge.credential_event_outcome_ck', N'C') IS NOT NULL
  ALTER TABLE ecm_bridge.credential_event DROP CONSTRAINT credential_event_outcome_ck;
GO
ALTER TABLE ecm_bridge.credential_event ADD CONSTRAINT credential_event_outcome_ck
  CHECK (outcome IN (N'requested', N'checked_out', N'checked_in', N'denied', N'failed', N'expired'));
GO
