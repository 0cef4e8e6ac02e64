import { systemClock, type Clock } from '../platform/clock.js';
import { write } from './command.js';

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** When a plain progress line is due off a terminal: whichever of the two comes first. */
export interface ProgressCadence {
  /** Committed slices between two lines (a day of hourly slices by default). */
  everySlices: number;
  /** Time between two lines while slices commit slowly. */
  everyMs: number;
}

const DEFAULT_CADENCE: ProgressCadence = { everySlices: 24, everyMs: 10_000 };

/**
 * Backfill progress for a person: on a terminal, one bar redrawn in place (done/total, rate,
 * ETA); otherwise (logs, CI, journald) a plain summary line every `everySlices` committed slices
 * or `everyMs`, whichever comes first, and the final summary: a year of hourly slices is a few
 * hundred lines at most, never one per slice.
 */
export class ReportProgress {
  readonly #tty: boolean;
  readonly #started: number;
  #lastLine: number;
  #slicesSinceLine = 0;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly label: string,
    private readonly clock: Pick<Clock, 'now'> = systemClock,
    private readonly cadence: ProgressCadence = DEFAULT_CADENCE,
  ) {
    this.#tty = out.isTTY === true;
    this.#started = clock.now();
    this.#lastLine = this.#started;
  }

  start(total: number, resumedFrom: string | undefined): void {
    write(
      this.out,
      `${this.label}: ${total} session(s) to load${resumedFrom ? ` (resuming after ${resumedFrom})` : ''}`,
    );
  }

  /** After each committed batch; `sliceCommitted` is the cursor when the batch ended a slice. */
  update(done: number, total: number, sliceCommitted: string | undefined): void {
    const now = this.clock.now();
    const elapsed = (now - this.#started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    const stats = `${done}/${total} sessions  ${rate.toFixed(0)}/s  ETA ${clock(eta)}`;
    if (this.#tty) {
      const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - stats.length - 10));
      const filled = Math.round((width * pct) / 100);
      this.out.write(
        `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${stats}\x1b[K`,
      );
      return;
    }
    if (sliceCommitted !== undefined) this.#slicesSinceLine++;
    if (this.#slicesSinceLine < this.cadence.everySlices && now - this.#lastLine < this.cadence.everyMs) return;
    this.#lastLine = now;
    this.#slicesSinceLine = 0;
    write(this.out, `${this.label}: ${stats} (${pct}%)${sliceCommitted ? `, committed up to ${sliceCommitted}` : ''}`);
  }

  finish(summary: string): void {
    if (this.#tty) this.out.write('\n');
    write(this.out, `${this.label}: ${summary} in ${clock((this.clock.now() - this.#started) / 1000)}`);
  }

  /** Leaves the bar's line before an error message. */
  abort(): void {
    if (this.#tty) this.out.write('\n');
  }
}
