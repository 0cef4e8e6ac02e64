-- Migration 5 (SQL Server): who checked a lease in and why. With several replicas sharing this
-- database, a lease may be checked in by another replica than the one that checked it out (after
-- a crash, or by the expiry sweeper): checkin_by is that replica's instance id, checkin_reason one
-- of release, expiry, shutdown, recovery.
IF COL_LENGTH(N'ecm_bridge.credential_event', N'checkin_by') IS NULL
  ALTER TABLE ecm_bridge.credential_event ADD checkin_by nvarchar(128) NULL;
GO
IF COL_LENGTH(N'ecm_bridge.credential_event', N'checkin_reason') IS NULL
  ALTER TABLE ecm_bridge.credential_event ADD checkin_reason nvarchar(16) NULL;
GO
