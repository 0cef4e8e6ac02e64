import { WIRE_CODES } from '../appliance/channel/wire-errors.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../platform/errors.js';

/** Markdown for docs/errors.md: the catalogue, with the wire code the channel sends for each. */
export function renderErrorCatalogue(): string {
  const lines = [
    '# Error codes',
    '',
    'Generated from `src/platform/errors.ts` (the `wire` column from `src/appliance/channel/wire-errors.ts`) by `npm run docs:errors`; a test keeps them in sync.',
    'Every failure the bridge reports carries one of these codes (logs: `err.code`; metrics: `code` label).',
    '`wire` is the code an access console receives over the ECM channel.',
    '',
    '| code | kind | wire | retryable | meaning | what to do |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
    const e = ERROR_CATALOGUE[code];
    lines.push(
      `| \`${code}\` | ${e.kind} | \`${WIRE_CODES[code]}\` | ${e.retryable ? 'yes' : 'no'} | ${e.meaning} | ${e.action} |`,
    );
  }
  return lines.join('\n') + '\n';
}
