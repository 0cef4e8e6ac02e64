-- Migration 13 (PostgreSQL / PGlite): recording files the reporting worker could not fetch (a
-- traffic node down, a download that broke off, an <error> answer). Their sessions are stored;
-- the files are owed and retried with backoff until fetched or older than
-- reporting.recordings.retryForHours. Same model as sql/mssql/013_missing_recording.sql.

-- One row per site and recording file: `recording` is its name under the recordings directory
-- (`<lsid>` or `<lsid>.shell-<instance>`). download_url is the report's URL (already kept in
-- BGSessions); node the public name of the node it is fetched from, when the URL names one.
CREATE TABLE IF NOT EXISTS ecm_bridge.missing_recording (
  site            varchar(255) NOT NULL,
  recording       varchar(100) NOT NULL,
  lsid            varchar(64)  NOT NULL,
  instance        integer      NULL,
  download_url    text         NULL,
  node            varchar(300) NULL,
  attempts        integer      NOT NULL,
  last_code       varchar(64)  NOT NULL,
  last_error      varchar(300) NOT NULL,
  first_failed_at timestamptz  NOT NULL,
  last_tried_at   timestamptz  NOT NULL,
  next_try_at     timestamptz  NOT NULL,
  CONSTRAINT missing_recording_pk PRIMARY KEY (site, recording)
);
CREATE INDEX IF NOT EXISTS missing_recording__site_next_try_at_ndx ON ecm_bridge.missing_recording (site, next_try_at);
