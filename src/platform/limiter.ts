/**
 * At most `max` tasks run at once; the others wait in arrival order. Discovery pages share one
 * limiter per vault so a burst of cold searches cannot take every pooled connection from the
 * credential calls that use the same vault.
 */
export class Limiter {
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`Limiter needs a positive integer bound (got ${max})`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `#running` never drops below the true count.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
