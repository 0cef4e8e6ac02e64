import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ServiceError } from '../platform/errors.js';
import { recordingName, type RecordingFile, type ReportSource } from './report-source.js';

/**
 * Keeps session recordings as files, like the Integration Client: `DIR/<site>/<lsid>.<ext>`, and
 * command shell recordings beside them as `DIR/<site>/<lsid>.shell-<instance>.<ext>`.
 * A recording already on disk is never fetched again; a download goes to a `.part` file renamed
 * on completion, so a crash never leaves a truncated file under the final name.
 */
export class RecordingDirectory {
  readonly directory: string;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;

  constructor(limits: { directory: string; maxMegabytes: number; timeoutSeconds: number }) {
    this.directory = limits.directory;
    this.#maxBytes = limits.maxMegabytes * 1024 * 1024;
    this.#timeoutMs = limits.timeoutSeconds * 1000;
  }

  /** Recording names (`recordingName`) already stored for `site`. */
  async stored(site: string): Promise<Set<string>> {
    try {
      const names = await readdir(join(this.directory, site));
      return new Set(names.filter((n) => !n.endsWith('.part')).map((n) => n.replace(/\.[^.]*$/, '')));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
      throw this.#error(site, e);
    }
  }

  /**
   * Downloads one recording file; returns the bytes written. Bounded: at most `maxMegabytes`, and
   * the whole download within `timeoutSeconds`; past either it is `report.recording_limit`.
   */
  async save(site: string, file: RecordingFile, source: ReportSource, signal?: AbortSignal): Promise<number> {
    const dir = join(this.directory, site);
    const name = recordingName(file);
    const part = this.#inside(dir, `${name}.part`, site, name);
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(this.#limitError(site, file.lsid, `did not finish within ${this.#timeoutMs / 1000} s`)),
      this.#timeoutMs,
    );
    const bounded = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
    try {
      await mkdir(dir, { recursive: true });
      const { body, extension } = await source.recording(file, bounded);
      // Which side failed decides the error: a connection that drops mid-download concerns this
      // file only (the session is stored and the file tried again), a local write failure
      // concerns every file and must stop the pull.
      let downloadError: unknown;
      body.once('error', (e) => (downloadError ??= e));
      const out = createWriteStream(part);
      try {
        await pipeline(body, this.#sizeCap(site, file.lsid), out, { signal: bounded });
      } catch (e) {
        if (deadline.signal.aborted && !signal?.aborted) throw deadline.signal.reason;
        if (e instanceof ServiceError) throw e;
        if (downloadError !== undefined && !signal?.aborted) throw this.#downloadError(site, file.lsid, downloadError);
        throw e;
      }
      await rename(part, this.#inside(dir, `${name}.${extension}`, site, name));
      return out.bytesWritten;
    } catch (e) {
      // The first failure is the one to report; a .part that cannot be removed either (its
      // directory is unusable) is overwritten by the next attempt.
      await rm(part, { force: true }).catch(() => undefined);
      if (deadline.signal.aborted && !signal?.aborted) throw deadline.signal.reason;
      if (e instanceof ServiceError || signal?.aborted) throw e;
      throw this.#error(site, e);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Passes bytes through until `maxMegabytes`, then fails the download. */
  #sizeCap(site: string, lsid: string): Transform {
    let seen = 0;
    return new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        seen += chunk.length;
        if (seen > this.#maxBytes)
          return done(this.#limitError(site, lsid, `is larger than ${this.#maxBytes / 1024 / 1024} MiB`));
        done(null, chunk);
      },
    });
  }

  #limitError(site: string, lsid: string, what: string): ServiceError {
    return new ServiceError(
      'report.recording_limit',
      `a recording of session ${lsid} from site ${site} ${what} (reporting.recordings limits); it was abandoned`,
      { op: 'report.recording', details: { site } },
    );
  }

  #downloadError(site: string, lsid: string, e: unknown): ServiceError {
    if (e instanceof ServiceError) return e;
    return new ServiceError(
      'appliance.unavailable',
      `the download of a recording of session ${lsid} from site ${site} broke off (${(e as NodeJS.ErrnoException).code ?? 'connection lost'})`,
      { op: 'report.recording', cause: e, details: { site } },
    );
  }

  /**
   * `dir/name`, refused unless it is a file directly inside `dir`, itself inside the recordings
   * directory (lsids are validated by the report parser; this is defence in depth).
   */
  #inside(dir: string, name: string, site: string, recording: string): string {
    const root = resolve(this.directory);
    const target = resolve(dir, name);
    const fromRoot = relative(root, target);
    if (
      resolve(target, '..') !== resolve(dir) ||
      fromRoot === '' ||
      fromRoot.startsWith('..') ||
      isAbsolute(fromRoot)
    ) {
      throw new ServiceError(
        'report.xml_invalid',
        `refusing to write a recording of site ${site} outside ${this.directory}: session id ${JSON.stringify(recording.slice(0, 16))}${recording.length > 16 ? '...' : ''} is not a file name`,
        {
          op: 'report.recording',
          details: { site, directory: this.directory },
        },
      );
    }
    return target;
  }

  #error(site: string, e: unknown): ServiceError {
    return new ServiceError(
      'store.write_failed',
      `cannot write recordings of site ${site} under ${this.directory} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        op: 'report.recording',
        cause: e,
        details: { site, directory: this.directory },
      },
    );
  }
}
