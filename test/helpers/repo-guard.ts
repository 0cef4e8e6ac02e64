/**
 * Vitest global setup: tests write only under os.tmpdir(). A file or directory that appears in
 * the checkout during the run (an embedded database in `.data/`, a stray config) fails the run.
 */
import { execFileSync } from 'node:child_process';

function newEntries(): Set<string> | undefined {
  try {
    const status = execFileSync('git', ['status', '--porcelain', '--ignored'], { encoding: 'utf8' });
    return new Set(
      status
        .split('\n')
        .filter((l) => l.startsWith('??') || l.startsWith('!!'))
        .map((l) => l.slice(3)),
    );
  } catch {
    return undefined; // not a git checkout (e.g. an unpacked tarball): nothing to compare with
  }
}

let before: Set<string> | undefined;

export function setup(): void {
  before = newEntries();
}

export function teardown(): void {
  const after = newEntries();
  if (!before || !after) return;
  const added = [...after].filter((e) => !before!.has(e));
  if (added.length === 0) return;
  // Vitest only logs a teardown error; the exit status is what CI and `npm test` callers see.
  process.exitCode = 1;
  throw new Error(`tests wrote inside the repository (use a directory under os.tmpdir()): ${added.join(', ')}`);
}
