/** One call as a trace records it: when it started and ended, as positions in one event sequence. */
export interface TracedCall {
  route: string;
  started: number;
  ended: number;
}

/**
 * Records the order in which calls start and end (not their times, so tests need no clock): a
 * call that starts after another ended may depend on it, one that starts before cannot.
 */
export class CallTrace {
  #seq = 0;
  readonly calls: TracedCall[] = [];

  /** Marks a call's start; the returned function marks its end. */
  begin(route: string): () => void {
    const call: TracedCall = { route, started: this.#seq++, ended: Infinity };
    this.calls.push(call);
    return () => {
      if (call.ended === Infinity) call.ended = this.#seq++;
    };
  }
}

/**
 * The number of sequential rounds the traced calls took: the longest chain of calls each of
 * which started only after the previous one had ended. Calls in flight together are one round.
 */
export function sequentialRounds(calls: readonly TracedCall[]): number {
  const byStart = [...calls].sort((a, b) => a.started - b.started);
  const depth = new Map<TracedCall, number>();
  let max = 0;
  for (const c of byStart) {
    let d = 1;
    for (const q of byStart) {
      if (q.started >= c.started) break;
      if (q.ended < c.started) d = Math.max(d, depth.get(q)! + 1);
    }
    depth.set(c, d);
    max = Math.max(max, d);
  }
  return max;
}
