import type { Logger } from 'pino';
import { configEqual } from './config/config-equal.js';
import type { Component } from './lifecycle.js';

/**
 * A piece of the running service derived from one slice of the config. On reload, a unit whose
 * slice did not change is left running (its connections stay up); a changed one is replaced;
 * a removed one is stopped. Units are started in list order and stopped in reverse.
 */
export interface UnitSpec {
  key: string;
  slice: unknown;
  /** Builds the component; `get` returns components of units earlier in the list. */
  create(get: <T extends Component>(key: string) => T): Component;
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
  async apply(specs: UnitSpec[]): Promise<{ started: string[]; replaced: string[]; stopped: string[]; kept: string[] }> {
    const result = { started: [] as string[], replaced: [] as string[], stopped: [] as string[], kept: [] as string[] };
    const wanted = new Set(specs.map((s) => s.key));
    // A changed unit invalidates the units after it that may depend on it.
    let changedBefore = false;
    const toReplace = new Set<string>();
    for (const spec of specs) {
      const cur = this.#running.find((u) => u.spec.key === spec.key);
      if (cur && (changedBefore || !configEqual(cur.spec.slice, spec.slice))) {
        toReplace.add(spec.key);
        changedBefore = true;
      }
    }
    for (const r of [...this.#running].reverse()) {
      if (!wanted.has(r.spec.key) || toReplace.has(r.spec.key)) {
        await this.#stopOne(r);
        if (!wanted.has(r.spec.key)) result.stopped.push(r.spec.key);
      }
    }
    this.#running = this.#running.filter((r) => wanted.has(r.spec.key) && !toReplace.has(r.spec.key));
    const next: Running[] = [];
    for (const spec of specs) {
      const cur = this.#running.find((u) => u.spec.key === spec.key);
      if (cur) {
        next.push(cur);
        result.kept.push(spec.key);
        continue;
      }
      const component = spec.create((key) => {
        const dep = next.find((u) => u.spec.key === key);
        if (!dep) throw new Error(`unit ${spec.key} needs ${key}, which is not configured before it`);
        return dep.component as never;
      });
      await component.start();
      next.push({ spec, component });
      (toReplace.has(spec.key) ? result.replaced : result.started).push(spec.key);
    }
    this.#running = next;
    return result;
  }

  async stopAll(): Promise<void> {
    for (const r of [...this.#running].reverse()) await this.#stopOne(r);
    this.#running = [];
  }

  async #stopOne(r: Running): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), this.graceMs + 1_000)));
    try {
      const outcome = await Promise.race([r.component.stop(this.graceMs).then(() => 'ok' as const), timeout]);
      if (outcome === 'timeout') this.log.warn({ unit: r.spec.key, graceMs: this.graceMs }, 'unit did not stop within its grace period');
    } catch (e) {
      this.log.error({ unit: r.spec.key, err: e }, 'unit failed to stop cleanly');
    } finally {
      clearTimeout(timer);
    }
  }
}
