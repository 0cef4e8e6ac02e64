-- Migration 3 (PostgreSQL / PGlite): BeyondTrust's ten recommended BGSessions indexes, each once.
-- IF NOT EXISTS makes a second run a no-op.

CREATE INDEX IF NOT EXISTS session__start_time_ndx                   ON session (start_time);
CREATE INDEX IF NOT EXISTS session__host_name_ndx                    ON session (host_name);
CREATE INDEX IF NOT EXISTS session__jump_group_name_ndx              ON session (jump_group_name);
CREATE INDEX IF NOT EXISTS session__lsid_ndx                         ON session (lsid);
CREATE INDEX IF NOT EXISTS session_event__type_performed_by_type_ndx ON session_event (type, performed_by_type);
CREATE INDEX IF NOT EXISTS session_event__session_id_ndx             ON session_event (session_id);
CREATE INDEX IF NOT EXISTS session_event__type_destination_ndx       ON session_event (type, destination);
CREATE INDEX IF NOT EXISTS session_event__type_performed_by_ndx      ON session_event (type, performed_by);
CREATE INDEX IF NOT EXISTS session_event_data__session_event_id_ndx  ON session_event_data (session_event_id);
CREATE INDEX IF NOT EXISTS session_event_data__name_ndx              ON session_event_data (name);

-- Not in the recommended list: the child-row deletes of a re-read session look these up.
CREATE INDEX IF NOT EXISTS system_information__session_event_id_ndx ON system_information (session_event_id);
