-- Optional, run by hand (not a migration): a read-only role for reporting tools on the embedded
-- or a real PostgreSQL database: SELECT on the BGSessions tables only, nothing in ecm_bridge.
-- The role is created without a password (no secret in this file); give it one afterwards with
-- `ALTER ROLE bgsessions_reader LOGIN PASSWORD '...'` from psql. PGlite has no network listener.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bgsessions_reader') THEN
    CREATE ROLE bgsessions_reader NOLOGIN;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO bgsessions_reader;
GRANT SELECT ON session, session_event, session_event_file, session_event_data, system_information,
  customer, representative, team, custom_attribute, command_shell_recording TO bgsessions_reader;
REVOKE ALL ON SCHEMA ecm_bridge FROM bgsessions_reader;
