-- Migration 1 (PostgreSQL / PGlite): the bridge's own schema and its migration ledger.
-- Same model as sql/mssql/001_ecm_bridge_schema.sql; see docs/storage.md.
-- Every statement is idempotent, so this file can be run by hand more than once.

CREATE SCHEMA IF NOT EXISTS ecm_bridge;

-- One row per applied migration (the file number); `db migrate` applies the missing ones in order.
CREATE TABLE IF NOT EXISTS ecm_bridge.schema_version (
  version    integer      NOT NULL PRIMARY KEY,
  name       varchar(200) NOT NULL,
  applied_at timestamptz  NOT NULL DEFAULT now()
);
