import { Writable } from 'node:stream';
import { createLogger, type LogFormat, type LogLevel } from '../../src/platform/logger.js';

/** A real pino logger (with every redaction layer) writing into memory, for secret-leak tests. */
export function captureLogger(level: LogLevel = 'trace', format: LogFormat = 'json') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ level, format }, stream);
  return { log, lines, text: () => lines.join('') };
}
