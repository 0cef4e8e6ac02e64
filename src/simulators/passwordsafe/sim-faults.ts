/** What the simulator does instead of (or before) answering one request. */
export type FaultDecision =
  { kind: 'none' } | { kind: 'status'; status: number; retryAfterSeconds?: number } | { kind: 'reset' };

interface Scripted {
  remaining: number;
  route?: string;
  decision: Exclude<FaultDecision, { kind: 'none' }>;
}

/** A small deterministic PRNG (mulberry32), so rate-based faults repeat run to run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Fault injection, changeable while the simulator runs. Scripted faults ("the next 2 calls to
 * POST Requests answer 503") make tests exact; rates (with a seeded PRNG) serve benchmarks and
 * soak runs. Routes are named like the call counters: `GET ManagedAccounts`, `POST Requests`.
 */
export class SimFaults {
  /** Added to every answer, in milliseconds. */
  latencyMs = 0;
  /** Fractions of calls (0..1) answered 503, 429, or by dropping the connection. */
  rates = { error5xx: 0, rate429: 0, reset: 0 };
  #scripted: Scripted[] = [];
  #random: () => number;

  constructor(seed = 42) {
    this.#random = prng(seed);
  }

  /** The next `count` calls (to `route`, or any) answer `status`, with Retry-After if given. */
  failNext(count: number, status = 503, options: { route?: string; retryAfterSeconds?: number } = {}): void {
    this.#scripted.push({
      remaining: count,
      ...(options.route ? { route: options.route } : {}),
      decision: {
        kind: 'status',
        status,
        ...(options.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: options.retryAfterSeconds }),
      },
    });
  }

  /** The next `count` calls (to `route`, or any) have their connection destroyed. */
  resetNext(count: number, route?: string): void {
    this.#scripted.push({ remaining: count, ...(route ? { route } : {}), decision: { kind: 'reset' } });
  }

  clear(): void {
    this.#scripted = [];
    this.latencyMs = 0;
    this.rates = { error5xx: 0, rate429: 0, reset: 0 };
  }

  decide(route: string): FaultDecision {
    const s = this.#scripted.find(
      (f) => f.remaining > 0 && (f.route === undefined || f.route.toLowerCase() === route.toLowerCase()),
    );
    if (s) {
      s.remaining--;
      this.#scripted = this.#scripted.filter((f) => f.remaining > 0);
      return s.decision;
    }
    const r = this.#random();
    if (r < this.rates.reset) return { kind: 'reset' };
    if (r < this.rates.reset + this.rates.error5xx) return { kind: 'status', status: 503 };
    if (r < this.rates.reset + this.rates.error5xx + this.rates.rate429)
      return { kind: 'status', status: 429, retryAfterSeconds: 1 };
    return { kind: 'none' };
  }
}
