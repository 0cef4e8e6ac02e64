-- Migration 4 (PostgreSQL / PGlite): the bridge's own state in schema ecm_bridge.
-- Same model as sql/mssql/004_bridge_state.sql. BeyondInsight never reads these tables.

-- Reporting worker pull cursors, one per site and report kind.
CREATE TABLE IF NOT EXISTS ecm_bridge.report_cursor (
  cursor_key varchar(255) NOT NULL PRIMARY KEY,
  value      text         NOT NULL,
  updated_at timestamptz  NOT NULL DEFAULT now()
);

-- Checkouts to check in later (never the secret itself).
CREATE TABLE IF NOT EXISTS ecm_bridge.lease (
  lease_id         varchar(128) NOT NULL PRIMARY KEY,
  vault_request_id varchar(128) NOT NULL,
  owner            varchar(128) NOT NULL,
  site             varchar(255) NOT NULL,
  console_user     text         NOT NULL,
  vault_user       text         NOT NULL,
  system_id        bigint       NOT NULL,
  system_name      text         NOT NULL,
  account_id       bigint       NOT NULL,
  account_name     text         NOT NULL,
  lsid             varchar(64)  NULL,
  audit_id         bigint       NULL,
  created_at       timestamptz  NOT NULL,
  expires_at       timestamptz  NOT NULL
);
CREATE INDEX IF NOT EXISTS lease__owner_ndx ON ecm_bridge.lease (owner);
CREATE INDEX IF NOT EXISTS lease__expires_at_ndx ON ecm_bridge.lease (expires_at);

-- Liveness of bridge replicas, so a starting replica can recover a crashed owner's leases.
CREATE TABLE IF NOT EXISTS ecm_bridge.instance (
  instance_id  varchar(128) NOT NULL PRIMARY KEY,
  last_seen_at timestamptz  NOT NULL
);

-- Audit: one row per credential request, correlating the checkout with its PRA session (lsid).
CREATE TABLE IF NOT EXISTS ecm_bridge.credential_event (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  site             varchar(255) NOT NULL,
  lsid             varchar(64)  NULL,
  jump_item_id     bigint       NULL,
  jump_item_name   text         NULL,
  console_user     text         NOT NULL,
  vault_user       text         NULL,
  vault_request_id varchar(128) NULL,
  system_name      text         NULL,
  account_name     text         NULL,
  outcome          varchar(16)  NOT NULL
    CHECK (outcome IN ('checked_out', 'checked_in', 'denied', 'failed', 'expired')),
  error_code       varchar(64)  NULL,
  checkout_at      timestamptz  NULL,
  checkin_at       timestamptz  NULL,
  recorded_at      timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS credential_event__lsid_ndx ON ecm_bridge.credential_event (lsid);
