import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const README = join(import.meta.dirname, '..', '..', 'README.md');

/** The lines of the first fenced block after the README line that contains `marker`. */
export function readmeBlock(marker: string): string[] {
  const lines = readFileSync(README, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes(marker));
  if (at < 0) throw new Error(`README has no line containing ${JSON.stringify(marker)}`);
  const open = lines.findIndex((l, i) => i > at && l.startsWith('```'));
  const close = lines.findIndex((l, i) => i > open && l.startsWith('```'));
  return lines.slice(open + 1, close);
}

/**
 * What differs between two runs of the same command, replaced by a placeholder: ports, the data
 * directory, generated ids and times, and the sizes of generated data. Everything else of a
 * README sample must be what the command prints.
 */
export function normaliseSample(text: string): string {
  return text
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .replace(/\S*\/demo\.yaml\b/g, 'DATA/demo.yaml')
    .replace(/\(\d+ generated sessions/g, '(N generated sessions')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'TIME')
    .replace(/\bdemo-[0-9a-f]{8}\b/g, 'demo-ID')
    .replace(/^(\s+\w+\s+)\d+ rows$/gm, '$1N rows');
}

/**
 * An abridged sample (ending in a `...` line) must be the start of the output; a whole one all of it.
 * Returns the two texts to compare, normalised, so a failure shows the difference line by line.
 */
export function sampleAndOutput(sample: string[], output: string): { sample: string; output: string } {
  const cut = sample.findIndex((l) => l.trim() === '...');
  const wanted = cut < 0 ? sample : sample.slice(0, cut);
  const got = output.replace(/\n$/, '').split('\n');
  return {
    sample: normaliseSample(wanted.join('\n')),
    output: normaliseSample((cut < 0 ? got : got.slice(0, wanted.length)).join('\n')),
  };
}
