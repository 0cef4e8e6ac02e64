-- Migration 8 (SQL Server): a credential id checks out at most one lease per vault request, and
-- is single-use once its checkout was checked in. Same model as sql/postgres/008_credential_single_use.sql.

-- The credential id a lease was checked out with (a SHA-256 of the id, never the id itself),
-- when that id expires, and how many other console answers were given this lease (duplicate
-- request ids or concurrent gets with one credential id join the first lease instead of adding one).
IF COL_LENGTH(N'ecm_bridge.lease', N'credential_key') IS NULL
  ALTER TABLE ecm_bridge.lease ADD credential_key nvarchar(64) NULL;
GO
IF COL_LENGTH(N'ecm_bridge.lease', N'credential_expires_at') IS NULL
  ALTER TABLE ecm_bridge.lease ADD credential_expires_at datetime2(3) NULL;
GO
IF COL_LENGTH(N'ecm_bridge.lease', N'joined_answers') IS NULL
  ALTER TABLE ecm_bridge.lease ADD joined_answers int NULL;
GO
-- At most one lease per vault request per credential id and session, whichever replica confirms
-- it: the second confirm fails on this index and joins the first lease (two sessions sharing a
-- request keep a lease each: the last release checks it in). Intents ('' request id) and leases
-- recorded before this migration (no credential key) are outside it. A NULL lsid (a get without
-- a session) counts as one session, as unique indexes treat NULLs on SQL Server.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.lease') AND name = N'lease__credential_request_ndx')
  CREATE UNIQUE INDEX lease__credential_request_ndx ON ecm_bridge.lease (credential_key, vault_request_id, lsid)
    WHERE credential_key IS NOT NULL AND vault_request_id <> N'';
GO
-- Credential ids whose checkout was checked in, kept until the id itself expires (the sweep
-- deletes them after that: an expired id is refused anyway).
IF OBJECT_ID(N'ecm_bridge.spent_credential', N'U') IS NULL
CREATE TABLE ecm_bridge.spent_credential (
  credential_key nvarchar(64) NOT NULL CONSTRAINT spent_credential_pk PRIMARY KEY,
  expires_at     datetime2(3) NOT NULL
);
GO
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.spent_credential') AND name = N'spent_credential__expires_at_ndx')
  CREATE INDEX spent_credential__expires_at_ndx ON ecm_bridge.spent_credential (expires_at);
GO
