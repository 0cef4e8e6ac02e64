import type { ParseArgsConfig } from 'node:util';

/** Exit codes of the CLI (documented in README "Command line"). */
export const EXIT = {
  ok: 0,
  /** A check failed, validation found problems, or the command's work failed. */
  failed: 1,
  /** Wrong command-line usage. */
  usage: 2,
  /** Unexpected internal error. */
  internal: 70,
  /** The configuration file is invalid or unreadable. */
  config: 78,
} as const;

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

/** A command as `--help` and argument parsing see it; its code loads only when it runs. */
export interface CommandInfo {
  /** Words that select the command, e.g. ['config', 'validate']. */
  path: string[];
  summary: string;
  usage: string;
  examples: string[];
  options?: ParseArgsConfig['options'];
  /** Imports the command's module: its dependencies load only for the command that runs. */
  load(): Promise<CommandRun>;
}

/** What a command does; `command` is its own description (for its usage line). */
export type CommandRun = (args: ParsedArgs, io: CliIo, command: CommandInfo) => Promise<number>;

export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith('\n') ? text : text + '\n');
}

/** Prints the command's usage line; returns the exit code for wrong usage. */
export function usage(io: CliIo, text: string): number {
  write(io.stderr, `usage: ${text}`);
  return EXIT.usage;
}
