/** How a store writes one statement alone, and several together in one transaction. */
export interface BatchWriter<S, R> {
  one(statement: S): Promise<R>;
  /** All or nothing: either every statement committed (results in order) or none did (it throws). */
  many(statements: readonly S[]): Promise<R[]>;
}

interface Waiting<S, R> {
  statement: S;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: statements submitted by concurrent operations while a batch is being written (or
 * in the same turn of the event loop) are written together as the next batch, in one transaction
 * — one commit instead of one per statement, which is most of an embedded engine's cost per write.
 * Each caller's promise settles only after its own statement committed, so durability before the
 * answer is kept. When a batch fails it was rolled back as a whole: its statements are then
 * written again one by one, so a failing statement fails only its own caller.
 */
export class GroupCommit<S, R> {
  readonly #queue: Waiting<S, R>[] = [];
  #scheduled = false;
  #writing = false;
  /** Batches and statements written so far (the average batch size shows how much was grouped). */
  readonly stats = { batches: 0, statements: 0 };

  constructor(
    private readonly writer: BatchWriter<S, R>,
    private readonly maxBatch = 64,
  ) {}

  submit(statement: S): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ statement, resolve, reject });
      if (this.#scheduled || this.#writing) return;
      this.#scheduled = true;
      // After the current turn's I/O callbacks, so the statements they submit share the batch.
      setImmediate(() => {
        this.#scheduled = false;
        void this.#drain();
      });
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) await this.#write(this.#queue.splice(0, this.maxBatch));
    } finally {
      this.#writing = false;
    }
  }

  async #write(batch: Waiting<S, R>[]): Promise<void> {
    this.stats.batches++;
    this.stats.statements += batch.length;
    if (batch.length > 1) {
      let results: R[] | undefined;
      try {
        results = await this.writer.many(batch.map((w) => w.statement));
      } catch {
        // Rolled back as a whole: written again below, one by one.
      }
      if (results) {
        batch.forEach((w, i) => w.resolve(results[i]!));
        return;
      }
    }
    for (const w of batch) await this.writer.one(w.statement).then(w.resolve, w.reject);
  }
}
