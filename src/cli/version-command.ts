import { BRIDGE_VERSION } from '../platform/version.js';
import { EXIT, write, type CommandRun } from './command.js';

/** `ecm-bridge version` (and `--version`): what an operator quotes in a ticket. */
export function versionText(): string {
  return `ecm-bridge ${BRIDGE_VERSION} (Node.js ${process.versions.node}, ${process.platform}-${process.arch})`;
}

export const runVersion: CommandRun = async (_args, io) => {
  write(io.stdout, versionText());
  return EXIT.ok;
};
