import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../../helpers/cli.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { quarantineEntry } from '../../../src/reporting/rejected-session.js';
import { PgliteStore } from '../../../src/store/pglite/store.js';
import { StoreMetrics } from '../../../src/store/store-metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'ecm-quarantine-cli-'));
const dataDir = join(dir, 'data');
const file = join(dir, 'bridge.yaml');
const WINDOW = 'end_time 2026-01-01T00:00:00Z..2026-01-01T06:00:00Z';

beforeAll(async () => {
  writeFileSync(file, `store:\n  kind: embedded\n  dataDir: ${dataDir}\nlog:\n  level: warn\n`);
  const store = await PgliteStore.open(
    dataDir,
    0,
    silentLogger(),
    new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'pglite'),
  );
  try {
    await store.migrate();
    await store.reports.quarantine(
      [
        quarantineEntry('corp-pra', WINDOW, {
          lsid: 'a "quoted" lsid/../x',
          reason: 'lsid_invalid',
          detail: 'session_summary #3: lsid attribute is not a session id',
        }),
        quarantineEntry('corp-pra', WINDOW, {
          lsid: 'c0b7a4e6d2f34b9a',
          reason: 'field_invalid',
          detail: 'session c0b7a4e6d2f34b9a: start_time is missing or unreadable',
        }),
      ],
      new Date(Date.UTC(2026, 0, 1, 6)),
    );
    const at = (h: number) => new Date(Date.UTC(2026, 0, 1, h));
    await store.reports.noteMissingRecordings([
      {
        site: 'corp-pra',
        recording: 'c0b7a4e6d2f34b9a.shell-1',
        lsid: 'c0b7a4e6d2f34b9a',
        instance: 1,
        url: 'https://tn1.example.com/shell_recording?lsid=c0b7a4e6d2f34b9a&instance=1&key=one-time',
        node: 'tn1.example.com',
        attempts: 2,
        lastCode: 'appliance.unavailable',
        lastError: 'tn1.example.com did not answer',
        firstFailedAt: at(5),
        lastTriedAt: at(6),
        nextTryAt: at(7),
      },
    ]);
  } finally {
    await store.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ecm-bridge report quarantine', () => {
  it('lists the quarantined sessions with their raw lsid (quoted), reason, window and times', async () => {
    const r = await runCliInProcess(['report', 'quarantine', '--config', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2 quarantined session(s):');
    expect(r.stdout).toContain('site corp-pra  lsid "a \\"quoted\\" lsid/../x"  [lsid_invalid] session_summary #3');
    expect(r.stdout).toContain('[field_invalid] session c0b7a4e6d2f34b9a: start_time is missing');
    expect(r.stdout).toContain(`window ${WINDOW}; first seen 2026-01-01T06:00:00.000Z`);
  });

  it('--json and --limit; a bad --limit is a usage error naming the option', async () => {
    const r = await runCliInProcess(['report', 'quarantine', '--config', file, '--json', '--limit', '1']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as { total: number; shown: { lsid: string; reason: string }[] };
    expect(list.total).toBe(2);
    expect(list.shown).toHaveLength(1);
    const bad = await runCliInProcess(['report', 'quarantine', '--config', file, '--limit', '0']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--limit must be a whole number from 1 to 1000, got "0"/);
  });
});

describe('ecm-bridge report recordings', () => {
  it('lists the recording files owed: site, file, node, attempts, next try, last error; never the URL', async () => {
    const r = await runCliInProcess(['report', 'recordings', '--config', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 recording file(s) owed:');
    expect(r.stdout).toContain(
      'site corp-pra  c0b7a4e6d2f34b9a.shell-1  node tn1.example.com  2 attempt(s), next 2026-01-01T07:00:00.000Z',
    );
    expect(r.stdout).toContain(
      '[appliance.unavailable] tn1.example.com did not answer; owed since 2026-01-01T05:00:00.000Z',
    );
    const json = await runCliInProcess(['report', 'recordings', '--config', file, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ total: 1, shown: [{ recording: 'c0b7a4e6d2f34b9a.shell-1' }] });
    expect(r.stdout + json.stdout).not.toContain('one-time');
    const bad = await runCliInProcess(['report', 'recordings', '--config', file, '--limit', 'x']);
    expect(bad.stderr).toMatch(/--limit must be a whole number from 1 to 1000, got "x"/);
  });
});
