-- Migration 12 (PostgreSQL / PGlite): the reporting worker's failback state per site (issue 24,
-- point 5), so a restart or another replica taking the reporting leadership continues a re-read
-- that a failover started. Same model as sql/mssql/012_failback_state.sql, which explains it.
CREATE TABLE IF NOT EXISTS ecm_bridge.failback_state (
  site         varchar(255) NOT NULL PRIMARY KEY,
  primary_node varchar(300) NULL,
  reread_from  timestamptz  NULL,
  sync_after   timestamptz  NULL,
  updated_at   timestamptz  NOT NULL,
  CONSTRAINT failback_state_reread_ck CHECK ((reread_from IS NULL) = (sync_after IS NULL))
);
