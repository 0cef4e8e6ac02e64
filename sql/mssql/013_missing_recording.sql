-- Migration 13 (SQL Server): recording files the reporting worker could not fetch (a traffic
-- node down, a download that broke off, an <error> answer). Their sessions are stored; the files
-- are owed and retried with backoff until fetched or older than reporting.recordings.retryForHours.
-- Same model as sql/postgres/013_missing_recording.sql.

-- One row per site and recording file: `recording` is its name under the recordings directory
-- (`<lsid>` or `<lsid>.shell-<instance>`). download_url is the report's URL (already kept in
-- BGSessions); node the public name of the node it is fetched from, when the URL names one.
IF OBJECT_ID(N'ecm_bridge.missing_recording', N'U') IS NULL
CREATE TABLE ecm_bridge.missing_recording (
  site            nvarchar(255) NOT NULL,
  recording       nvarchar(100) NOT NULL,
  lsid            nvarchar(64)  NOT NULL,
  instance        int           NULL,
  download_url    nvarchar(max) NULL,
  node            nvarchar(300) NULL,
  attempts        int           NOT NULL,
  last_code       nvarchar(64)  NOT NULL,
  last_error      nvarchar(300) NOT NULL,
  first_failed_at datetime2(3)  NOT NULL,
  last_tried_at   datetime2(3)  NOT NULL,
  next_try_at     datetime2(3)  NOT NULL,
  CONSTRAINT missing_recording_pk PRIMARY KEY (site, recording)
);
GO
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'ecm_bridge.missing_recording') AND name = N'missing_recording__site_next_try_at_ndx')
  CREATE INDEX missing_recording__site_next_try_at_ndx ON ecm_bridge.missing_recording (site, next_try_at);
GO
