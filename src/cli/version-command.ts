import { BRIDGE_VERSION } from '../platform/version.js';
import { EXIT, write, type Command } from './command.js';

/** `ecm-bridge version` (and `--version`): what an operator quotes in a ticket. */
export function versionText(): string {
  return `ecm-bridge ${BRIDGE_VERSION} (Node.js ${process.versions.node}, ${process.platform}-${process.arch})`;
}

export const version: Command = {
  path: ['version'],
  summary: 'Print the ecm-bridge version and the Node.js runtime it runs on',
  usage: 'ecm-bridge version',
  examples: ['ecm-bridge version', 'ecm-bridge --version'],
  async run(_args, io) {
    write(io.stdout, versionText());
    return EXIT.ok;
  },
};
