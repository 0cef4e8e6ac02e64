-- Migration 14 (SQL Server): a fencing token per bridge instance. A replica joins with a fresh
-- epoch in its instance row, and every lease write it makes (open, confirm, put, check-in claim
-- and finish) holds only while its row still holds that epoch, checked in the same transaction.
-- A replica presumed dead has its row retired before its leases are taken, so when it comes back
-- (SIGCONT, a VM resumed, a network healed) its writes are refused instead of confirming a lease
-- the recovery ended or re-creating one it removed.
-- Same model as sql/postgres/014_instance_epoch.sql. Rows of replicas that predate it hold 0.
IF COL_LENGTH(N'ecm_bridge.instance', N'epoch') IS NULL
  ALTER TABLE ecm_bridge.instance ADD epoch int NOT NULL CONSTRAINT instance_epoch_df DEFAULT 0;
GO
