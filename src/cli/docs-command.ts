import { renderErrorCatalogue } from '../platform/errors.js';
import { EXIT, type Command } from './command.js';

export const docsErrors: Command = {
  path: ['docs', 'errors'],
  summary: 'Print the error-code catalogue as Markdown (the source of docs/errors.md)',
  usage: 'ecm-bridge docs errors',
  examples: ['ecm-bridge docs errors > docs/errors.md'],
  async run(_args, io) {
    io.stdout.write(renderErrorCatalogue());
    return EXIT.ok;
  },
};
