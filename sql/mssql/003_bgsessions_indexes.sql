-- Migration 3 (SQL Server): BeyondTrust's recommended BGSessions indexes.
-- The integration guide lists eleven CREATE INDEX statements, one of them twice; each of the ten
-- distinct indexes is created here once. The IF NOT EXISTS guard makes a second run a no-op
-- (no error, no duplicate index), so a DBA may run this file by hand at any time.

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.session') AND name = N'session__start_time_ndx')
  CREATE INDEX session__start_time_ndx ON dbo.session (start_time);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.session') AND name = N'session__host_name_ndx')
  CREATE INDEX session__host_name_ndx ON dbo.session (host_name);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.session') AND name = N'session__jump_group_name_ndx')
  CREATE INDEX session__jump_group_name_ndx ON dbo.session (jump_group_name);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.session') AND name = N'session__lsid_ndx')
  CREATE INDEX session__lsid_ndx ON dbo.session (lsid);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.session_event') AND name = N'session_event__type_performed_by_type_ndx')
  CREATE INDEX session_event__type_performed_by_type_ndx ON dbo.session_event (type, performed_by_type);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.session_event') AND name = N'session_event__session_id_ndx')
  CREATE INDEX session_event__session_id_ndx ON dbo.session_event (session_id);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.session_event') AND name = N'session_event__type_destination_ndx')
  CREATE INDEX session_event__type_destination_ndx ON dbo.session_event (type, destination);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.session_event') AND name = N'session_event__type_performed_by_ndx')
  CREATE INDEX session_event__type_performed_by_ndx ON dbo.session_event (type, performed_by);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.session_event_data') AND name = N'session_event_data__session_event_id_ndx')
  CREATE INDEX session_event_data__session_event_id_ndx ON dbo.session_event_data (session_event_id);
GO

IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.session_event_data') AND name = N'session_event_data__name_ndx')
  CREATE INDEX session_event_data__name_ndx ON dbo.session_event_data (name);
GO

-- Not in the recommended list: the child-row deletes of a re-read session look these up.
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'dbo.system_information') AND name = N'system_information__session_event_id_ndx')
  CREATE INDEX system_information__session_event_id_ndx ON dbo.system_information (session_event_id);
GO
