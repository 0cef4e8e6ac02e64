-- Migration 1 (SQL Server): the bridge's own schema `ecm_bridge` and its migration ledger.
-- Run by `ecm-bridge db migrate`, or by hand (sqlcmd -i / SSMS); every batch is idempotent.
-- BeyondInsight never reads ecm_bridge; the BGSessions tables it reads live in dbo.

-- CREATE SCHEMA must start a batch, so inside IF it goes through EXEC.
IF SCHEMA_ID(N'ecm_bridge') IS NULL
  EXEC (N'CREATE SCHEMA ecm_bridge AUTHORIZATION dbo');
GO

-- One row per applied migration (the file number); `db migrate` applies the missing ones in order.
IF OBJECT_ID(N'ecm_bridge.schema_version', N'U') IS NULL
CREATE TABLE ecm_bridge.schema_version (
  version    int           NOT NULL CONSTRAINT schema_version_pk PRIMARY KEY,
  name       nvarchar(200) NOT NULL,
  applied_at datetime2(3)  NOT NULL CONSTRAINT schema_version_applied_at_df DEFAULT SYSUTCDATETIME()
);
GO
