import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RecordingDirectory } from '../../../src/reporting/recording-directory.js';
import type { ReportSource } from '../../../src/reporting/report-source.js';

function source(extension = 'flv'): ReportSource & { fetched: string[] } {
  const fetched: string[] = [];
  return {
    fetched,
    listing: async () => [],
    sessions: async () => [],
    recordingNode: () => undefined,
    recording: async ({ lsid }) => {
      fetched.push(lsid);
      return { body: Readable.from([Buffer.from('video')]), extension };
    },
  };
}

const limits = (directory: string, more: { maxMegabytes?: number; timeoutSeconds?: number } = {}) => ({
  directory,
  maxMegabytes: 4096,
  timeoutSeconds: 1800,
  ...more,
});

describe('recording directory', () => {
  it('writes DIR/<site>/<lsid>.<ext> for a plain lsid', async () => {
    const base = mkdtempSync(join(tmpdir(), 'recdir-'));
    const dir = new RecordingDirectory(limits(join(base, 'rec')));
    expect(await dir.save('corp-pra', { lsid: 'c0b7a4e6d2f34b9a8e1f0a2b3c4d5e6f', url: null }, source())).toBe(5);
    expect(readFileSync(join(base, 'rec', 'corp-pra', 'c0b7a4e6d2f34b9a8e1f0a2b3c4d5e6f.flv'), 'utf8')).toBe('video');
  });

  it('keeps a shell recording beside the session recording as <lsid>.shell-<instance>.<ext>', async () => {
    const base = mkdtempSync(join(tmpdir(), 'recdir-'));
    const dir = new RecordingDirectory(limits(join(base, 'rec')));
    await dir.save('corp-pra', { lsid: 'abc', url: null }, source());
    await dir.save('corp-pra', { lsid: 'abc', instance: 2, url: 'https://tn1.example/x' }, source('txt'));
    expect(readdirSync(join(base, 'rec', 'corp-pra')).sort()).toEqual(['abc.flv', 'abc.shell-2.txt']);
    expect([...(await dir.stored('corp-pra'))].sort()).toEqual(['abc', 'abc.shell-2']);
  });

  it('refuses an lsid or extension that would leave the directory, before fetching or writing anything', async () => {
    const base = mkdtempSync(join(tmpdir(), 'recdir-'));
    const dir = new RecordingDirectory(limits(join(base, 'rec')));
    for (const lsid of ['../../escaped', '../other-site/x', 'a/b', '/etc/passwd']) {
      const src = source();
      await expect(dir.save('corp-pra', { lsid, url: null }, src)).rejects.toMatchObject({
        code: 'report.xml_invalid',
        message: expect.stringMatching(/refusing to write a recording of site corp-pra outside/),
      });
      expect(src.fetched).toEqual([]);
    }
    // A hostile extension (from the appliance's answer) is refused too, and the .part is removed.
    await expect(
      dir.save('corp-pra', { lsid: 'abc', url: null }, source('flv/../../../escaped')),
    ).rejects.toMatchObject({
      code: 'report.xml_invalid',
    });
    expect(readdirSync(base)).toEqual(['rec']);
    expect(readdirSync(join(base, 'rec', 'corp-pra'))).toEqual([]);
    expect(existsSync(join(base, 'escaped'))).toBe(false);
  });

  it('names a download that breaks off as the appliance (this file only), a local write failure as the store', async () => {
    const base = mkdtempSync(join(tmpdir(), 'recdir-'));
    const dir = new RecordingDirectory(limits(join(base, 'rec')));
    const dropping: ReportSource = {
      ...source(),
      recording: async () => ({
        body: Readable.from(
          (async function* () {
            yield Buffer.from('vid');
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          })(),
        ),
        extension: 'flv',
      }),
    };
    await expect(dir.save('corp-pra', { lsid: 'abc', url: null }, dropping)).rejects.toMatchObject({
      code: 'appliance.unavailable',
      message: expect.stringMatching(/session abc from site corp-pra broke off \(ECONNRESET\)/),
    });
    expect(readdirSync(join(base, 'rec', 'corp-pra'))).toEqual([]);
    // The site directory is a file: every write fails locally, which stops the pull.
    const blocked = new RecordingDirectory(limits(join(base, 'rec', 'corp-pra')));
    writeFileSync(join(base, 'rec', 'corp-pra', 'x'), '');
    await expect(blocked.save('x', { lsid: 'abc', url: null }, source())).rejects.toMatchObject({
      code: 'store.write_failed',
    });
  });

  it('abandons a file larger than maxMegabytes, removing its partial file', async () => {
    const base = mkdtempSync(join(tmpdir(), 'recdir-'));
    const dir = new RecordingDirectory(limits(join(base, 'rec'), { maxMegabytes: 1 }));
    const big: ReportSource = {
      ...source(),
      recording: async () => ({
        body: Readable.from(
          (function* () {
            for (let i = 0; i < 5; i++) yield Buffer.alloc(512 * 1024, i);
          })(),
        ),
        extension: 'flv',
      }),
    };
    await expect(dir.save('corp-pra', { lsid: 'abc', url: null }, big)).rejects.toMatchObject({
      code: 'report.recording_limit',
      message: expect.stringMatching(/session abc from site corp-pra is larger than 1 MiB/),
    });
    expect(readdirSync(join(base, 'rec', 'corp-pra'))).toEqual([]);
    // Up to the cap is fine.
    expect(await dir.save('corp-pra', { lsid: 'abc', url: null }, source())).toBe(5);
  });

  it('abandons a download that never ends (a trickle under the per-chunk timeout) at its deadline', async () => {
    const base = mkdtempSync(join(tmpdir(), 'recdir-'));
    const dir = new RecordingDirectory(limits(join(base, 'rec'), { timeoutSeconds: 1 }));
    let destroyed = false;
    const endless: ReportSource = {
      ...source(),
      recording: async () => {
        // One byte now and then, forever: only the overall deadline can end it.
        const body = new Readable({ read() {} });
        const timer = setInterval(() => body.push(Buffer.from('x')), 50);
        body.once('close', () => {
          clearInterval(timer);
          destroyed = true;
        });
        return { body, extension: 'flv' };
      },
    };
    await expect(dir.save('corp-pra', { lsid: 'abc', url: null }, endless)).rejects.toMatchObject({
      code: 'report.recording_limit',
      message: expect.stringMatching(/session abc from site corp-pra did not finish within 1 s/),
    });
    expect(destroyed).toBe(true);
    expect(readdirSync(join(base, 'rec', 'corp-pra'))).toEqual([]);
  });
});
