import { renderErrorCatalogue } from '../app/error-docs.js';
import { EXIT, type CommandRun } from './command.js';

export const runDocsErrors: CommandRun = async (_args, io) => {
  io.stdout.write(renderErrorCatalogue());
  return EXIT.ok;
};
