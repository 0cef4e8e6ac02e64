import { write } from './command.js';

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/**
 * Backfill progress for a person: on a terminal, one bar redrawn in place (done/total, rate,
 * ETA); otherwise (logs, CI) a plain line per committed slice and at most one every few seconds.
 */
export class ReportProgress {
  readonly #tty: boolean;
  readonly #started = Date.now();
  #lastLine = 0;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly label: string,
  ) {
    this.#tty = out.isTTY === true;
  }

  start(total: number, resumedFrom: string | undefined): void {
    write(
      this.out,
      `${this.label}: ${total} session(s) to load${resumedFrom ? ` (resuming after ${resumedFrom})` : ''}`,
    );
  }

  update(done: number, total: number, sliceCommitted: string | undefined): void {
    const elapsed = (Date.now() - this.#started) / 1000;
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
    const now = Date.now();
    if (sliceCommitted === undefined && now - this.#lastLine < 5_000) return;
    this.#lastLine = now;
    write(this.out, `${this.label}: ${stats} (${pct}%)${sliceCommitted ? `, committed up to ${sliceCommitted}` : ''}`);
  }

  finish(summary: string): void {
    if (this.#tty) this.out.write('\n');
    write(this.out, `${this.label}: ${summary} in ${clock((Date.now() - this.#started) / 1000)}`);
  }

  /** Leaves the bar's line before an error message. */
  abort(): void {
    if (this.#tty) this.out.write('\n');
  }
}
