import { EarlyStoreOpen } from '../app/early-store.js';
import { usage, type CommandRun } from './command.js';

/**
 * `ecm-bridge serve`. Opening the embedded store is the longest part of start-up, so it begins
 * first, from the file's `store` section, while Node loads the rest of the bridge and validates
 * the whole file (this module imports nothing heavy for that reason).
 */
export const runServe: CommandRun = async (args, io, command) => {
  const file = (args.values.config as string | undefined) ?? io.env.ECM_BRIDGE_CONFIG;
  if (!file) return usage(io, command.usage);
  const graceMs = Number(args.values['grace-ms'] ?? 10_000);
  if (!Number.isInteger(graceMs) || graceMs < 0) return usage(io, command.usage);
  const earlyStore = await EarlyStoreOpen.begin(file);
  try {
    const { serveUntilStopped } = await import('./serve-service.js');
    return await serveUntilStopped(file, graceMs, io, earlyStore);
  } finally {
    // Nothing to do once the store unit took it; else (an invalid config, a failed start) this
    // closes the early open and frees its data-directory lock before the process exits.
    await earlyStore.discard();
  }
};
