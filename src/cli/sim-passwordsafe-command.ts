import { writeFileSync } from 'node:fs';
import { demoSeedPath, generateEstate } from '../simulators/passwordsafe/estate-generator.js';
import { PasswordSafeSimulator } from '../simulators/passwordsafe/password-safe-simulator.js';
import { loadSeedFile } from '../simulators/passwordsafe/seed.js';
import { EXIT, usage, write, type CommandRun } from './command.js';

export const runSimPasswordSafe: CommandRun = async (args, io, command) => {
  const port = Number(args.values.port ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) return usage(io, command.usage);
  const generate = args.values.generate as string | undefined;
  const size = generate === undefined ? undefined : /^(\d+),(\d+)$/.exec(generate);
  if (generate !== undefined && !size) return usage(io, command.usage);
  const seedFile = (args.values.seed as string | undefined) ?? (size ? undefined : demoSeedPath);
  const seed = size ? generateEstate({ systems: Number(size[1]), accounts: Number(size[2]) }) : loadSeedFile(seedFile!);
  const sim = await PasswordSafeSimulator.start({ seed, port });
  const caOut = args.values['ca-out'] as string | undefined;
  if (caOut) writeFileSync(caOut, sim.caPem, { mode: 0o644 });
  write(io.stdout, `Password Safe simulator listening: ${sim.url}`);
  write(
    io.stdout,
    `  estate: ${sim.estate.systems.length} systems, ${sim.estate.accounts.length} accounts, ${sim.estate.users.length} users (${seedFile ?? `generated ${generate}`})`,
  );
  if (caOut) write(io.stdout, `  CA certificate written to ${caOut} (use it as vault.caFile)`);
  // The simulator's own keys (never real ones): what vault.auth needs to talk to it.
  for (const r of seed.registrations)
    write(
      io.stdout,
      r.kind === 'apikey'
        ? `  API key (vault.auth.apiKey, method apikey): ${r.key}   registration "${r.name}"`
        : `  OAuth client (vault.auth, method oauth): ${r.clientId} / ${r.clientSecret}   registration "${r.name}"`,
    );
  write(io.stdout, 'Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.stop();
  return EXIT.ok;
};
