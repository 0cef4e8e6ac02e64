-- Hand-run script (not applied by `db migrate`): a read-only login for BeyondInsight.
-- It may read the BGSessions tables (db_datareader in the BGSessions database only, no rights in
-- any other database) and nothing of the bridge's own schema ecm_bridge.
-- Run as a login with ALTER ANY LOGIN and db_owner on BGSessions, with sqlcmd variables so no
-- password is stored in this file:
--   sqlcmd -S sql01 -d BGSessions -v Database="BGSessions" ReaderLogin="beyondinsight_reader" \
--          ReaderPassword="..." -i sql/mssql/readonly-login.sql
-- Re-running it changes nothing (the password of an existing login is left as it is).

IF SUSER_ID(N'$(ReaderLogin)') IS NULL
  CREATE LOGIN [$(ReaderLogin)] WITH PASSWORD = N'$(ReaderPassword)', CHECK_POLICY = ON, DEFAULT_DATABASE = [$(Database)];
GO

USE [$(Database)];
GO

IF USER_ID(N'$(ReaderLogin)') IS NULL
  CREATE USER [$(ReaderLogin)] FOR LOGIN [$(ReaderLogin)] WITH DEFAULT_SCHEMA = dbo;
GO

IF IS_ROLEMEMBER(N'db_datareader', N'$(ReaderLogin)') = 0
  ALTER ROLE db_datareader ADD MEMBER [$(ReaderLogin)];
GO

-- db_datareader covers every schema; the bridge's bookkeeping stays private.
DENY SELECT ON SCHEMA::ecm_bridge TO [$(ReaderLogin)];
GO
