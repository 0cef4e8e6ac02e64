import type { Command } from './command.js';
import { check } from './check-command.js';
import { configPrint, configValidate } from './config-commands.js';
import { dbMigrate, dbPrintSql } from './db-command.js';
import { demo } from './demo-command.js';
import { docsErrors } from './docs-command.js';
import { reportBackfill } from './report-backfill.js';
import { reportParse } from './report-parse.js';
import { serve } from './serve-command.js';
import { simAppliance } from './sim-appliance-command.js';
import { simConsole } from './sim-console-command.js';
import { simPasswordSafe } from './sim-passwordsafe-command.js';
import { testSettings } from './test-settings-command.js';
import { version } from './version-command.js';

/** Every CLI command, in the order `--help` lists them. */
export const COMMANDS: Command[] = [
  demo,
  serve,
  check,
  testSettings,
  configValidate,
  configPrint,
  dbMigrate,
  dbPrintSql,
  reportBackfill,
  reportParse,
  docsErrors,
  simAppliance,
  simPasswordSafe,
  simConsole,
  version,
];
