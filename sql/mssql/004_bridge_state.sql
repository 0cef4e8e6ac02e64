-- Migration 4 (SQL Server): the bridge's own state in schema ecm_bridge, shared by replicas.
-- The leader lock needs no table: it is sp_getapplock on a dedicated connection.

-- Reporting worker pull cursors, one per site and report kind.
IF OBJECT_ID(N'ecm_bridge.report_cursor', N'U') IS NULL
CREATE TABLE ecm_bridge.report_cursor (
  cursor_key nvarchar(255) NOT NULL CONSTRAINT report_cursor_pk PRIMARY KEY,
  value      nvarchar(max) NOT NULL,
  updated_at datetime2(3)  NOT NULL CONSTRAINT report_cursor_updated_at_df DEFAULT SYSUTCDATETIME()
);
GO

-- Checkouts to check in later (never the secret itself).
IF OBJECT_ID(N'ecm_bridge.lease', N'U') IS NULL
CREATE TABLE ecm_bridge.lease (
  lease_id         nvarchar(128) NOT NULL CONSTRAINT lease_pk PRIMARY KEY,
  vault_request_id nvarchar(128) NOT NULL,
  owner            nvarchar(128) NOT NULL,
  site             nvarchar(255) NOT NULL,
  console_user     nvarchar(max) NOT NULL,
  vault_user       nvarchar(max) NOT NULL,
  system_id        bigint        NOT NULL,
  system_name      nvarchar(max) NOT NULL,
  account_id       bigint        NOT NULL,
  account_name     nvarchar(max) NOT NULL,
  lsid             nvarchar(64)  NULL,
  audit_id         bigint        NULL,
  created_at       datetime2(3)  NOT NULL,
  expires_at       datetime2(3)  NOT NULL
);
GO
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.lease') AND name = N'lease__owner_ndx')
  CREATE INDEX lease__owner_ndx ON ecm_bridge.lease (owner);
GO
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.lease') AND name = N'lease__expires_at_ndx')
  CREATE INDEX lease__expires_at_ndx ON ecm_bridge.lease (expires_at);
GO

-- Liveness of bridge replicas, so a starting replica can recover a crashed owner's leases.
IF OBJECT_ID(N'ecm_bridge.instance', N'U') IS NULL
CREATE TABLE ecm_bridge.instance (
  instance_id  nvarchar(128) NOT NULL CONSTRAINT instance_pk PRIMARY KEY,
  last_seen_at datetime2(3)  NOT NULL
);
GO

-- Audit: one row per credential request, correlating the checkout with its PRA session (lsid).
IF OBJECT_ID(N'ecm_bridge.credential_event', N'U') IS NULL
CREATE TABLE ecm_bridge.credential_event (
  id               bigint IDENTITY(1,1) NOT NULL CONSTRAINT credential_event_pk PRIMARY KEY,
  site             nvarchar(255) NOT NULL,
  lsid             nvarchar(64)  NULL,
  jump_item_id     bigint        NULL,
  jump_item_name   nvarchar(max) NULL,
  console_user     nvarchar(max) NOT NULL,
  vault_user       nvarchar(max) NULL,
  vault_request_id nvarchar(128) NULL,
  system_name      nvarchar(max) NULL,
  account_name     nvarchar(max) NULL,
  outcome          nvarchar(16)  NOT NULL CONSTRAINT credential_event_outcome_ck
    CHECK (outcome IN (N'checked_out', N'checked_in', N'denied', N'failed', N'expired')),
  error_code       nvarchar(64)  NULL,
  checkout_at      datetime2(3)  NULL,
  checkin_at       datetime2(3)  NULL,
  recorded_at      datetime2(3)  NOT NULL CONSTRAINT credential_event_recorded_at_df DEFAULT SYSUTCDATETIME()
);
GO
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.credential_event') AND name = N'credential_event__lsid_ndx')
  CREATE INDEX credential_event__lsid_ndx ON ecm_bridge.credential_event (lsid);
GO
