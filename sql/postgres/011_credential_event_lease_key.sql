-- Migration 11 (PostgreSQL / PGlite): the audit row of a checkout names its lease, so a console's
-- release of a lease that is already gone (checked in at expiry, by the recovery of a
-- presumed-dead replica, at shutdown) is answered with what really happened.
-- Same model as sql/mssql/011_credential_event_lease_key.sql.

-- A SHA-256 (hex) of the lease id, never the id itself: a lease id is a handle that releases a
-- credential. NULL on rows recorded before this migration and on rows without a lease.
ALTER TABLE ecm_bridge.credential_event
  ADD COLUMN IF NOT EXISTS lease_key varchar(64) NULL;
-- A release of a gone lease looks its row up by this key (rare, but it must not scan the audit).
CREATE INDEX IF NOT EXISTS credential_event__lease_key_ndx
  ON ecm_bridge.credential_event (lease_key) WHERE lease_key IS NOT NULL;
