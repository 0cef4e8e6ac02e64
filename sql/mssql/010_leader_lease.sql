-- Migration 10 (SQL Server): leadership with a bounded lease (issue 29, point 7). Same model as
-- sql/postgres/010_leader_lease.sql.
--
-- One row per leadership (the reporting worker's, which `report backfill` takes too): who holds
-- it, the epoch of its term (raised by every take, so a term is never seen twice) and when it
-- lapses unless renewed. A take is a conditional UPDATE (only of a lapsed row) or an INSERT of a
-- missing row that loses to a concurrent one on the primary key; no lock hint or isolation level
-- is relied on. Every reporting commit renews the row for its own holder and epoch in the same
-- transaction as its writes, and writes nothing when that finds no row.
IF OBJECT_ID(N'ecm_bridge.leader_lease', N'U') IS NULL
CREATE TABLE ecm_bridge.leader_lease (
  name       nvarchar(255) NOT NULL CONSTRAINT leader_lease_pk PRIMARY KEY,
  holder     nvarchar(255) NOT NULL,
  epoch      int           NOT NULL,
  expires_at datetime2(3)  NOT NULL
);
GO
