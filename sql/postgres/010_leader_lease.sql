-- Migration 10 (PostgreSQL / PGlite): leadership with a bounded lease (issue 29, point 7). Same
-- model as sql/mssql/010_leader_lease.sql, which explains the row.
CREATE TABLE IF NOT EXISTS ecm_bridge.leader_lease (
  name       varchar(255) NOT NULL PRIMARY KEY,
  holder     varchar(255) NOT NULL,
  epoch      integer      NOT NULL,
  expires_at timestamptz  NOT NULL
);
