-- Migration 6 (PostgreSQL / PGlite): indexes for the broker's lease lookups, so a release costs
-- the same with ten live leases or ten thousand. Same model as sql/mssql/006_lease_lookups.sql.

-- "Does another lease still hold this vault request?" (asked on every check-in).
CREATE INDEX IF NOT EXISTS lease__vault_request_ndx ON ecm_bridge.lease (vault_request_id);
-- Release by credential id: the leases of one session on one account.
CREATE INDEX IF NOT EXISTS lease__lsid_account_ndx ON ecm_bridge.lease (lsid, account_id);
