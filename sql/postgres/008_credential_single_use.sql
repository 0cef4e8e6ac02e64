-- Migration 8 (PostgreSQL / PGlite): a credential id checks out at most one lease per vault
-- request, and is single-use once its checkout was checked in.
-- Same model as sql/mssql/008_credential_single_use.sql.

-- The credential id a lease was checked out with (a SHA-256 of the id, never the id itself),
-- when that id expires, and how many other console answers were given this lease (duplicate
-- request ids or concurrent gets with one credential id join the first lease instead of adding one).
ALTER TABLE ecm_bridge.lease
  ADD COLUMN IF NOT EXISTS credential_key        varchar(64) NULL,
  ADD COLUMN IF NOT EXISTS credential_expires_at timestamptz NULL,
  ADD COLUMN IF NOT EXISTS joined_answers        integer     NULL;
-- At most one lease per vault request per credential id and session, whichever replica confirms
-- it (two sessions sharing a request keep a lease each: the last release checks it in). Intents
-- ('' request id) and leases recorded before this migration (no credential key) are outside it.
-- NULLS NOT DISTINCT: a get without a session (lsid NULL) counts as one session, as on SQL Server.
CREATE UNIQUE INDEX IF NOT EXISTS lease__credential_request_ndx
  ON ecm_bridge.lease (credential_key, vault_request_id, lsid) NULLS NOT DISTINCT
  WHERE credential_key IS NOT NULL AND vault_request_id <> '';
-- Credential ids whose checkout was checked in, kept until the id itself expires (the sweep
-- deletes them after that: an expired id is refused anyway).
CREATE TABLE IF NOT EXISTS ecm_bridge.spent_credential (
  credential_key varchar(64) NOT NULL PRIMARY KEY,
  expires_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS spent_credential__expires_at_ndx ON ecm_bridge.spent_credential (expires_at);
