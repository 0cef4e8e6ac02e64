-- Migration 6 (SQL Server): indexes for the broker's lease lookups, so a release costs the same
-- with ten live leases or ten thousand. Same model as sql/postgres/006_lease_lookups.sql.

-- "Does another lease still hold this vault request?" (asked on every check-in).
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.lease') AND name = N'lease__vault_request_ndx')
  CREATE INDEX lease__vault_request_ndx ON ecm_bridge.lease (vault_request_id);
GO
-- Release by credential id: the leases of one session on one account.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.lease') AND name = N'lease__lsid_account_ndx')
  CREATE INDEX lease__lsid_account_ndx ON ecm_bridge.lease (lsid, account_id);
GO
