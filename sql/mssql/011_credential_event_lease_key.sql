-- Migration 11 (SQL Server): the audit row of a checkout names its lease, so a console's release
-- of a lease that is already gone (checked in at expiry, by the recovery of a presumed-dead
-- replica, at shutdown) is answered with what really happened instead of a bare "released".
-- Same model as sql/postgres/011_credential_event_lease_key.sql.

-- A SHA-256 (hex) of the lease id, never the id itself: a lease id is a handle that releases a
-- credential. NULL on rows recorded before this migration and on rows without a lease.
IF COL_LENGTH(N'ecm_bridge.credential_event', N'lease_key') IS NULL
  ALTER TABLE ecm_bridge.credential_event ADD lease_key nvarchar(64) NULL;
GO
-- A release of a gone lease looks its row up by this key (rare, but it must not scan the audit).
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.credential_event') AND name = N'credential_event__lease_key_ndx')
  CREATE INDEX credential_event__lease_key_ndx ON ecm_bridge.credential_event (lease_key)
    WHERE lease_key IS NOT NULL;
GO
