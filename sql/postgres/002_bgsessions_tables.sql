-- Migration 2 (PostgreSQL / PGlite): the BGSessions tables, in the default (public) schema.
-- Same tables and columns as sql/mssql/002_bgsessions_tables.sql (nvarchar -> varchar/text,
-- datetime2 -> timestamptz, bit -> boolean). The column-by-column mapping from the report XML
-- is documented there and in docs/storage.md.

CREATE TABLE IF NOT EXISTS session (
  id                             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  lsid                           varchar(64)  NOT NULL,
  type                           varchar(64)  NOT NULL,
  lseq                           bigint       NULL,
  start_time                     timestamptz  NOT NULL,
  end_time                       timestamptz  NULL,
  duration                       varchar(32)  NULL,
  file_transfers                 integer      NOT NULL DEFAULT 0,
  file_moves                     integer      NOT NULL DEFAULT 0,
  file_deletes                   integer      NOT NULL DEFAULT 0,
  host_name                      varchar(255) NOT NULL,
  external_key                   text         NULL,
  public_site_id                 integer      NOT NULL DEFAULT 1,
  public_site_name               varchar(255) NOT NULL DEFAULT 'Default',
  jump_group_id                  bigint       NULL,
  jump_group_type                varchar(32)  NULL,
  jump_group_name                varchar(450) NULL,
  jumpoint_id                    bigint       NULL,
  jumpoint_name                  varchar(450) NULL,
  primary_customer_gsnumber      bigint       NULL,
  primary_customer_name          text         NULL,
  primary_rep_gsnumber           bigint       NULL,
  primary_rep_id                 bigint       NULL,
  primary_rep_name               text         NULL,
  session_chat_view_url          text         NULL,
  session_chat_download_url      text         NULL,
  session_recording_view_url     text         NULL,
  session_recording_download_url text         NULL,
  CONSTRAINT session__host_name_lsid_uq UNIQUE (host_name, lsid)
);

-- (session_id, seq) is unique by construction (the writer checks it and replaces a session's
-- events as a whole); no extra unique index, so the event insert stays cheap.
CREATE TABLE IF NOT EXISTS session_event (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id            bigint       NOT NULL REFERENCES session (id),
  seq                   integer      NOT NULL,
  event_time            timestamptz  NOT NULL,
  type                  varchar(255) NOT NULL,
  performed_by_type     varchar(32)  NULL,
  performed_by_gsnumber bigint       NULL,
  performed_by          varchar(450) NULL,
  destination_type      varchar(32)  NULL,
  destination_gsnumber  bigint       NULL,
  destination           varchar(450) NULL,
  body                  text         NULL,
  filename              text         NULL,
  filesize              bigint       NULL
);

CREATE TABLE IF NOT EXISTS session_event_file (
  session_event_id bigint  NOT NULL REFERENCES session_event (id),
  file_index       integer NOT NULL,
  filename         text    NOT NULL,
  filesize         bigint  NULL,
  PRIMARY KEY (session_event_id, file_index)
);

CREATE TABLE IF NOT EXISTS session_event_data (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_event_id bigint       NOT NULL REFERENCES session_event (id),
  seq              integer      NOT NULL,
  name             varchar(450) NOT NULL,
  value            text         NOT NULL
);

CREATE TABLE IF NOT EXISTS system_information (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_event_id bigint       NOT NULL REFERENCES session_event (id),
  seq              integer      NOT NULL,
  category         varchar(450) NOT NULL,
  field            varchar(450) NOT NULL,
  value            text         NOT NULL,
  row_index        integer      NULL
);

CREATE TABLE IF NOT EXISTS customer (
  session_id  bigint       NOT NULL REFERENCES session (id),
  gsnumber    bigint       NOT NULL,
  username    text         NULL,
  public_ip   varchar(64)  NULL,
  public_port integer      NULL,
  private_ip  varchar(64)  NULL,
  hostname    varchar(255) NULL,
  os          text         NULL,
  PRIMARY KEY (session_id, gsnumber)
);

CREATE TABLE IF NOT EXISTS representative (
  session_id           bigint       NOT NULL REFERENCES session (id),
  gsnumber             bigint       NOT NULL,
  id                   bigint       NULL,
  username             text         NULL,
  display_name         text         NULL,
  public_display_name  text         NULL,
  private_display_name text         NULL,
  public_ip            varchar(64)  NULL,
  public_port          integer      NULL,
  private_ip           varchar(64)  NULL,
  hostname             varchar(255) NULL,
  os                   text         NULL,
  session_owner        boolean      NOT NULL DEFAULT false,
  seconds_involved     integer      NULL,
  invited              boolean      NOT NULL DEFAULT false,
  PRIMARY KEY (session_id, gsnumber)
);

CREATE TABLE IF NOT EXISTS team (
  session_id bigint  NOT NULL REFERENCES session (id),
  seq        integer NOT NULL,
  id         bigint  NULL,
  name       text    NOT NULL,
  PRIMARY KEY (session_id, seq)
);

CREATE TABLE IF NOT EXISTS custom_attribute (
  session_id   bigint       NOT NULL REFERENCES session (id),
  seq          integer      NOT NULL,
  code_name    varchar(450) NOT NULL,
  display_name text         NOT NULL,
  value        text         NOT NULL,
  PRIMARY KEY (session_id, seq)
);

CREATE TABLE IF NOT EXISTS command_shell_recording (
  session_id   bigint  NOT NULL REFERENCES session (id),
  seq          integer NOT NULL,
  instance     integer NULL,
  download_url text    NULL,
  view_url     text    NULL,
  PRIMARY KEY (session_id, seq)
);
