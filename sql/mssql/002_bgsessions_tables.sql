-- Migration 2 (SQL Server): the BGSessions tables BeyondInsight reads (schema dbo).
--
-- Names documented by BeyondTrust are kept exactly: tables session, session_event,
-- session_event_data, system_information, representative, customer, team, custom_attribute and
-- the session columns id, lsid, type, start_time, end_time, duration, file_transfers, host_name,
-- external_key, public_site_id, public_site_name, lseq, jump_group_id, jump_group_name.
-- Every other column maps one-to-one to the Reporting API session XML (AccessSession /
-- SupportSession), element or attribute name kept where it is not taken:
--
--   session                        <- session @lsid and its child elements
--     lsid                         <- @lsid                       type <- session_type
--     lseq                         <- lseq                        duration <- duration (HH:MM:SS)
--     start_time / end_time        <- start_time/end_time @timestamp, UTC (end_time NULL while in progress)
--     file_transfers / file_moves / file_deletes <- file_transfer_count / file_move_count / file_delete_count
--     host_name                    <- the site hostname the report came from (one database, many sites)
--     external_key                 <- external_key
--     public_site_id / _name       <- public_site @id / text (PRA: 1 / 'Default')
--     jump_group_id/_type/_name    <- jump_group @id @type / text
--     jumpoint_id / jumpoint_name  <- jumpoint @id / text
--     primary_customer_gsnumber / _name        <- primary_customer @gsnumber / text
--     primary_rep_gsnumber / _id / _name       <- primary_rep @gsnumber @id / text
--     session_chat_view_url ... session_recording_download_url <- the elements of the same names
--   session_event                  <- session_details/event, one row each
--     seq                          <- position within the session, from 0
--     event_time / type            <- event @timestamp (UTC) / @event_type
--     performed_by_type/_gsnumber, performed_by <- performed_by @type @gsnumber / text
--     destination_type/_gsnumber, destination   <- destination @type @gsnumber / text
--     body                         <- body, or encoded_body base64-decoded
--     filename / filesize          <- filename, filesize (or the first files/file)
--   session_event_file             <- the 2nd and later files/file of an event (file_index 1, 2, ...)
--   session_event_data             <- event data/value @name @value, seq = position
--   system_information             <- event system_information/category @name -> field @name, text;
--                                     row_index <- data/row position (NULL outside a row)
--   customer                       <- customer_list/customer, keyed by session_id + gsnumber
--   representative                 <- rep_list/representative, keyed by session_id + gsnumber
--                                     (id is the appliance's user id, @id; public_ip and public_port
--                                     are split from "ip:port")
--   team                           <- team_list/team @id / text (RS), seq = position
--   custom_attribute               <- custom_attributes/custom_attribute @code_name @display_name / text
--   command_shell_recording        <- command_shell_recordings/command_shell_recording @instance,
--                                     download_url, view_url
--
-- Types: nvarchar everywhere a person or the appliance supplies text (Unicode); nvarchar(max)
-- for bodies, values, names and URLs that are not indexed, so nothing is ever truncated; bounded
-- nvarchar(n) only where an index needs it, and the bridge refuses (never truncates) a longer
-- value with an error naming the column. Times are datetime2(3) in UTC; identities are bigint.

IF OBJECT_ID(N'dbo.session', N'U') IS NULL
CREATE TABLE dbo.session (
  id                             bigint IDENTITY(1,1) NOT NULL CONSTRAINT session_pk PRIMARY KEY,
  lsid                           nvarchar(64)  NOT NULL,
  type                           nvarchar(64)  NOT NULL,
  lseq                           bigint        NULL,
  start_time                     datetime2(3)  NOT NULL,
  end_time                       datetime2(3)  NULL,
  duration                       nvarchar(32)  NULL,
  file_transfers                 int           NOT NULL CONSTRAINT session_file_transfers_df DEFAULT 0,
  file_moves                     int           NOT NULL CONSTRAINT session_file_moves_df DEFAULT 0,
  file_deletes                   int           NOT NULL CONSTRAINT session_file_deletes_df DEFAULT 0,
  host_name                      nvarchar(255) NOT NULL,
  external_key                   nvarchar(max) NULL,
  public_site_id                 int           NOT NULL CONSTRAINT session_public_site_id_df DEFAULT 1,
  public_site_name               nvarchar(255) NOT NULL CONSTRAINT session_public_site_name_df DEFAULT N'Default',
  jump_group_id                  bigint        NULL,
  jump_group_type                nvarchar(32)  NULL,
  jump_group_name                nvarchar(450) NULL,
  jumpoint_id                    bigint        NULL,
  jumpoint_name                  nvarchar(450) NULL,
  primary_customer_gsnumber      bigint        NULL,
  primary_customer_name          nvarchar(max) NULL,
  primary_rep_gsnumber           bigint        NULL,
  primary_rep_id                 bigint        NULL,
  primary_rep_name               nvarchar(max) NULL,
  session_chat_view_url          nvarchar(max) NULL,
  session_chat_download_url      nvarchar(max) NULL,
  session_recording_view_url     nvarchar(max) NULL,
  session_recording_download_url nvarchar(max) NULL,
  CONSTRAINT session__host_name_lsid_uq UNIQUE (host_name, lsid)
);
GO

-- (session_id, seq) is unique by construction (the writer checks it and replaces a session's
-- events as a whole); no extra unique index, so the event insert stays cheap.
IF OBJECT_ID(N'dbo.session_event', N'U') IS NULL
CREATE TABLE dbo.session_event (
  id                    bigint IDENTITY(1,1) NOT NULL CONSTRAINT session_event_pk PRIMARY KEY,
  session_id            bigint        NOT NULL CONSTRAINT session_event_session_fk REFERENCES dbo.session (id),
  seq                   int           NOT NULL,
  event_time            datetime2(3)  NOT NULL,
  type                  nvarchar(255) NOT NULL,
  performed_by_type     nvarchar(32)  NULL,
  performed_by_gsnumber bigint        NULL,
  performed_by          nvarchar(450) NULL,
  destination_type      nvarchar(32)  NULL,
  destination_gsnumber  bigint        NULL,
  destination           nvarchar(450) NULL,
  body                  nvarchar(max) NULL,
  filename              nvarchar(max) NULL,
  filesize              bigint        NULL
);
GO

IF OBJECT_ID(N'dbo.session_event_file', N'U') IS NULL
CREATE TABLE dbo.session_event_file (
  session_event_id bigint        NOT NULL CONSTRAINT session_event_file_event_fk REFERENCES dbo.session_event (id),
  file_index       int           NOT NULL,
  filename         nvarchar(max) NOT NULL,
  filesize         bigint        NULL,
  CONSTRAINT session_event_file_pk PRIMARY KEY (session_event_id, file_index)
);
GO

IF OBJECT_ID(N'dbo.session_event_data', N'U') IS NULL
CREATE TABLE dbo.session_event_data (
  id               bigint IDENTITY(1,1) NOT NULL CONSTRAINT session_event_data_pk PRIMARY KEY,
  session_event_id bigint        NOT NULL CONSTRAINT session_event_data_event_fk REFERENCES dbo.session_event (id),
  seq              int           NOT NULL,
  name             nvarchar(450) NOT NULL,
  value            nvarchar(max) NOT NULL
);
GO

IF OBJECT_ID(N'dbo.system_information', N'U') IS NULL
CREATE TABLE dbo.system_information (
  id               bigint IDENTITY(1,1) NOT NULL CONSTRAINT system_information_pk PRIMARY KEY,
  session_event_id bigint        NOT NULL CONSTRAINT system_information_event_fk REFERENCES dbo.session_event (id),
  seq              int           NOT NULL,
  category         nvarchar(450) NOT NULL,
  field            nvarchar(450) NOT NULL,
  value            nvarchar(max) NOT NULL,
  row_index        int           NULL
);
GO

IF OBJECT_ID(N'dbo.customer', N'U') IS NULL
CREATE TABLE dbo.customer (
  session_id  bigint        NOT NULL CONSTRAINT customer_session_fk REFERENCES dbo.session (id),
  gsnumber    bigint        NOT NULL,
  username    nvarchar(max) NULL,
  public_ip   nvarchar(64)  NULL,
  public_port int           NULL,
  private_ip  nvarchar(64)  NULL,
  hostname    nvarchar(255) NULL,
  os          nvarchar(max) NULL,
  CONSTRAINT customer_pk PRIMARY KEY (session_id, gsnumber)
);
GO

IF OBJECT_ID(N'dbo.representative', N'U') IS NULL
CREATE TABLE dbo.representative (
  session_id           bigint        NOT NULL CONSTRAINT representative_session_fk REFERENCES dbo.session (id),
  gsnumber             bigint        NOT NULL,
  id                   bigint        NULL,
  username             nvarchar(max) NULL,
  display_name         nvarchar(max) NULL,
  public_display_name  nvarchar(max) NULL,
  private_display_name nvarchar(max) NULL,
  public_ip            nvarchar(64)  NULL,
  public_port          int           NULL,
  private_ip           nvarchar(64)  NULL,
  hostname             nvarchar(255) NULL,
  os                   nvarchar(max) NULL,
  session_owner        bit           NOT NULL CONSTRAINT representative_session_owner_df DEFAULT 0,
  seconds_involved     int           NULL,
  invited              bit           NOT NULL CONSTRAINT representative_invited_df DEFAULT 0,
  CONSTRAINT representative_pk PRIMARY KEY (session_id, gsnumber)
);
GO

IF OBJECT_ID(N'dbo.team', N'U') IS NULL
CREATE TABLE dbo.team (
  session_id bigint        NOT NULL CONSTRAINT team_session_fk REFERENCES dbo.session (id),
  seq        int           NOT NULL,
  id         bigint        NULL,
  name       nvarchar(max) NOT NULL,
  CONSTRAINT team_pk PRIMARY KEY (session_id, seq)
);
GO

IF OBJECT_ID(N'dbo.custom_attribute', N'U') IS NULL
CREATE TABLE dbo.custom_attribute (
  session_id   bigint        NOT NULL CONSTRAINT custom_attribute_session_fk REFERENCES dbo.session (id),
  seq          int           NOT NULL,
  code_name    nvarchar(450) NOT NULL,
  display_name nvarchar(max) NOT NULL,
  value        nvarchar(max) NOT NULL,
  CONSTRAINT custom_attribute_pk PRIMARY KEY (session_id, seq)
);
GO

IF OBJECT_ID(N'dbo.command_shell_recording', N'U') IS NULL
CREATE TABLE dbo.command_shell_recording (
  session_id   bigint        NOT NULL CONSTRAINT command_shell_recording_session_fk REFERENCES dbo.session (id),
  seq          int           NOT NULL,
  instance     int           NULL,
  download_url nvarchar(max) NULL,
  view_url     nvarchar(max) NULL,
  CONSTRAINT command_shell_recording_pk PRIMARY KEY (session_id, seq)
);
GO
