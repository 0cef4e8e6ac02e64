/** CLI entry: picks the command from argv, parses its options, maps failures to exit codes. */
import { parseArgs } from 'node:util';
import { EXIT, write, type CliIo, type CommandInfo } from './cli/command.js';
import { COMMANDS } from './cli/commands.js';
import { isServiceError } from './platform/errors.js';
import { versionText } from './cli/version-command.js';

function helpText(): string {
  return [
    'ecm-bridge: Linux-native Endpoint Credential Manager and BGSessions reporting for BeyondTrust PRA/RS',
    '',
    'Commands:',
    ...COMMANDS.flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`]),
    '',
    'Examples:',
    ...COMMANDS.flatMap((c) => c.examples.slice(0, 1).map((e) => `  ${e}`)),
    '',
    'Exit codes: 0 ok, 1 failed (a check or validation), 2 usage, 70 internal error, 78 invalid configuration.',
    "Run `ecm-bridge COMMAND --help` for a command's options.",
  ].join('\n');
}

function commandHelp(c: CommandInfo): string {
  return [`usage: ${c.usage}`, '', c.summary, '', 'Examples:', ...c.examples.map((e) => `  ${e}`)].join('\n');
}

const isEntry = process.argv[1] !== undefined && /(?:main\.[jt]s|ecm-bridge(?:\.js)?)$/.test(process.argv[1]);

/**
 * In the `ecm-bridge` process itself (not when tests call runCli in-process): the title names the
 * command, so `ps` tells `ecm-bridge serve` from a backfill or a simulator (Linux sets the
 * kernel's comm from it too, cut to 15 bytes: `ecm-bridge serv`). Only `serve` reloads on SIGHUP;
 * any other command ignores it with a line on stderr instead of dying silently (the default
 * action) when an operator's `pkill -HUP` hits it too.
 */
function titleProcess(command: CommandInfo): void {
  if (!isEntry) return;
  const name = `ecm-bridge ${command.path.join(' ')}`;
  process.title = name;
  if (command.path[0] !== 'serve')
    process.on('SIGHUP', () =>
      process.stderr.write(`${name}: SIGHUP ignored (only \`ecm-bridge serve\` reloads its configuration)\n`),
    );
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-V') {
    write(io.stdout, versionText());
    return EXIT.ok;
  }
  const command = COMMANDS.filter((c) => c.path.every((w, i) => argv[i] === w)).sort(
    (a, b) => b.path.length - a.path.length,
  )[0];
  if (!command) {
    const wantsHelp = argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help';
    write(wantsHelp ? io.stdout : io.stderr, (wantsHelp ? '' : `unknown command: ${argv.join(' ')}\n\n`) + helpText());
    return wantsHelp ? EXIT.ok : EXIT.usage;
  }
  titleProcess(command);
  const rest = argv.slice(command.path.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    write(io.stdout, commandHelp(command));
    return EXIT.ok;
  }
  let args;
  try {
    args = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: true, strict: true });
  } catch (e) {
    write(io.stderr, `${(e as Error).message}\n\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  try {
    const run = await command.load();
    return await run(args as never, io, command);
  } catch (e) {
    if (isServiceError(e)) {
      write(io.stderr, `error [${e.code}]: ${e.message}`);
      if (e.code === 'cli.usage') return EXIT.usage;
      return e.kind === 'config' ? EXIT.config : EXIT.failed;
    }
    // The one place free text reaches the terminal outside pino: scrub it the same way. The
    // logger module (and pino) loads here, not at start-up: `--help` and `version` never need it.
    const { scrubLine } = await import('./platform/logger.js');
    write(io.stderr, scrubLine(`internal error: ${(e as Error)?.stack ?? String(e)}`));
    return EXIT.internal;
  }
}

if (isEntry) {
  // `ecm-bridge` for ps until the command is known (then `ecm-bridge COMMAND`), not `node`.
  process.title = 'ecm-bridge';
  const code = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
  // Let stdout drain before exiting (piped output would otherwise be cut).
  process.stdout.write('', () => process.exit(code));
}
