import type { Logger } from 'pino';
import { configEqual } from './config/config-equal.js';
import type { Component, StopReason } from './lifecycle.js';

/**
 * A piece of the running service derived from one slice of the config. On reload, a unit whose
 * slice did not change is left running (its connections stay up); a changed one is replaced;
 * a removed one is stopped. Units are started in list order and stopped in reverse.
 */
export interface UnitSpec {
  key: string;
  slice: unknown;
  /** Keys of earlier units this one uses; when one of them is replaced, so is this unit. */
  deps?: string[];
  /**
   * Builds the component. `get` returns the component of one of `deps`. `live` returns a function
   * that finds the unit running under a key *at call time*, without making it a dependency: a
   * channel forwards requests to whichever broker is current, so replacing the broker on reload
   * does not drop the channel.
   */
  create(
    get: <T extends Component>(key: string) => T,
    live: <T extends Component>(key: string) => () => T | undefined,
  ): Component;
}

interface Running {
  spec: UnitSpec;
  component: Component;
}

export class UnitSet {
  #running: Running[] = [];

  constructor(
    private readonly log: Logger,
    private readonly graceMs: number,
  ) {}

  get<T extends Component>(key: string): T {
    const r = this.#running.find((u) => u.spec.key === key);
    if (!r) throw new Error(`unit ${key} is not running`);
    return r.component as T;
  }

  has(key: string): boolean {
    return this.#running.some((u) => u.spec.key === key);
  }

  /** Brings the running units in line with `specs`; returns the keys started, replaced, stopped. */
  async apply(
    specs: UnitSpec[],
  ): Promise<{ started: string[]; replaced: string[]; stopped: string[]; kept: string[] }> {
    const result = { started: [] as string[], replaced: [] as string[], stopped: [] as string[], kept: [] as string[] };
    const wanted = new Set(specs.map((s) => s.key));
    // A unit is replaced when its slice changed or a unit it depends on is replaced or removed.
    const toReplace = new Set<string>();
    for (const spec of specs) {
      const cur = this.#running.find((u) => u.spec.key === spec.key);
      const depChanged = (spec.deps ?? []).some((d) => toReplace.has(d) || !this.has(d));
      if (cur && (depChanged || !configEqual(cur.spec.slice, spec.slice))) toReplace.add(spec.key);
    }
    for (const r of [...this.#running].reverse()) {
      if (!wanted.has(r.spec.key) || toReplace.has(r.spec.key)) {
        await this.#stopOne(r, wanted.has(r.spec.key) ? 'reload' : 'shutdown');
        if (!wanted.has(r.spec.key)) result.stopped.push(r.spec.key);
      }
    }
    const kept = this.#running.filter((r) => wanted.has(r.spec.key) && !toReplace.has(r.spec.key));
    const next: Running[] = [];
    // #running always lists every live component (started so far, plus kept ones not yet
    // revisited), so a failed start leaves nothing untracked and `live` sees a unit as soon as
    // it has started.
    const track = () => (this.#running = [...next, ...kept.filter((k) => !next.includes(k))]);
    track();
    for (const spec of specs) {
      const cur = kept.find((u) => u.spec.key === spec.key);
      if (cur) {
        next.push(cur);
        result.kept.push(spec.key);
        continue;
      }
      const component = spec.create(
        (key) => {
          const dep = (spec.deps ?? []).includes(key) ? next.find((u) => u.spec.key === key) : undefined;
          if (!dep) throw new Error(`unit ${spec.key} needs ${key}: declare it in deps and configure it earlier`);
          return dep.component as never;
        },
        (key) => () => this.#running.find((u) => u.spec.key === key)?.component as never,
      );
      await component.start();
      next.push({ spec, component });
      track();
      (toReplace.has(spec.key) ? result.replaced : result.started).push(spec.key);
    }
    track();
    return result;
  }

  async stopAll(): Promise<void> {
    for (const r of [...this.#running].reverse()) await this.#stopOne(r, 'shutdown');
    this.#running = [];
  }

  async #stopOne(r: Running, reason: StopReason): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), this.graceMs + 1_000)));
    try {
      const outcome = await Promise.race([r.component.stop(this.graceMs, reason).then(() => 'ok' as const), timeout]);
      if (outcome === 'timeout')
        this.log.warn({ unit: r.spec.key, graceMs: this.graceMs }, 'unit did not stop within its grace period');
    } catch (e) {
      this.log.error({ unit: r.spec.key, err: e }, 'unit failed to stop cleanly');
    } finally {
      clearTimeout(timer);
    }
  }
}
