-- Migration 12 (SQL Server): the reporting worker's failback state per site (issue 24, point 5).
-- Same model as sql/postgres/012_failback_state.sql.
--
-- One row per failover-capable site. primary_node is who answered as primary at the last pull (a
-- `nodes:` origin, or the appliance behind the site URL by its check_health id); NULL when the
-- site URL last reached a backup, so the next primary seen counts as a change. reread_from and
-- sync_after are set while a re-read is owed: the window from reread_from is re-read once, by the
-- first pull after the primary reports a successful data sync at or after sync_after (when the
-- change was seen). Kept in the store, not in memory, so a restart or another replica taking the
-- reporting leadership continues it; written by fenced commits of the leader only.
IF OBJECT_ID(N'ecm_bridge.failback_state', N'U') IS NULL
CREATE TABLE ecm_bridge.failback_state (
  site         nvarchar(255) NOT NULL CONSTRAINT failback_state_pk PRIMARY KEY,
  primary_node nvarchar(300) NULL,
  reread_from  datetime2(3)  NULL,
  sync_after   datetime2(3)  NULL,
  updated_at   datetime2(3)  NOT NULL,
  CONSTRAINT failback_state_reread_ck CHECK ((reread_from IS NULL AND sync_after IS NULL) OR (reread_from IS NOT NULL AND sync_after IS NOT NULL))
);
GO
