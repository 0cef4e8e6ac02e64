import type { Logger } from 'pino';
import { configEqual } from './config/config-equal.js';
import { toServiceError } from './errors.js';
import type { Component, StopReason } from './lifecycle.js';
import type { Readiness } from './readiness.js';

/**
 * A typed name of a unit: `get(key)` returns the component type the key was declared with, so
 * callers never cast. Two keys are the same unit when their names are equal.
 */
export interface UnitKey<C extends Component = Component> {
  readonly name: string;
  /** Type-level only: the component this key finds. */
  readonly component?: C;
}

export function unitKey<C extends Component>(name: string): UnitKey<C> {
  return { name };
}

/** What a unit's factory may reach besides its own slice. */
export interface UnitContext {
  /** The running component of one of the unit's `deps`. */
  get<C extends Component>(key: UnitKey<C>): C;
  /**
   * Finds the unit running under `key` *at call time*, without making it a dependency: a channel
   * forwards requests to whichever broker is current, so replacing the broker on reload does not
   * drop the channel.
   */
  live<C extends Component>(key: UnitKey<C>): () => C | undefined;
}

/**
 * A piece of the running service derived from one slice of the config. The factory receives
 * that slice and nothing else of the config, so the slice compared on reload is exactly what the
 * component was built from: a setting the component reads cannot be missing from it. On reload a
 * unit whose slice did not change is left running (its connections stay up); a changed one is
 * replaced; a removed one is stopped. A unit starts once the units in its `deps` have started
 * (units that do not depend on each other start concurrently) and stops before them.
 */
export interface UnitSpec<S = unknown, C extends Component = Component> {
  key: UnitKey<C>;
  slice: S;
  /** Earlier units this one uses; when one of them is replaced, so is this unit. */
  deps?: readonly UnitKey[];
  /**
   * Units this one starts after, when they start in the same apply, and not at all if one of them
   * fails: order only (replacing one of them leaves this unit running).
   */
  after?: readonly UnitKey[];
  /**
   * Whether a replacement built from `next` may start while the component built from `previous`
   * still runs (it holds nothing the new one needs, e.g. a port it will not reuse). Then a reload
   * starts the new component first and stops the old one only once the new one has started: a
   * replacement that fails to start leaves the old one serving throughout. Without it (or when
   * it says no) the old component stops first. docs/architecture.md lists which units allow it.
   */
  overlap?(previous: S, next: S): boolean;
  create(slice: S, units: UnitContext): C;
}

/** Declares a unit with its slice and component types inferred. */
export function unit<S, C extends Component>(spec: UnitSpec<S, C>): UnitSpec<S, C> {
  return spec;
}

/** The readiness entry that is not ready while the units of the first apply are still starting. */
export const STARTING = 'starting';

export interface ApplyResult {
  started: string[];
  replaced: string[];
  stopped: string[];
  kept: string[];
}

interface Running {
  spec: UnitSpec;
  component: Component;
}

/**
 * The running units. `apply` is all-or-nothing as far as it can be: when a unit of the new set
 * fails to start, the previous set is applied again (units that were not touched keep running;
 * replaced ones are rebuilt from their previous slices), and any wanted unit that still is not
 * running is reported on /readyz as not ready, with the error that stopped it.
 */
export class UnitSet {
  #running: Running[] = [];
  /** The last set applied in full: what a failed apply rolls back to. */
  #applied: UnitSpec[] | undefined;
  /** Readiness entries this set registered for wanted units that are not running. */
  readonly #down = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly graceMs: number,
    private readonly readiness?: Readiness,
  ) {}

  get<C extends Component>(key: UnitKey<C>): C {
    const r = this.#find(key.name);
    if (!r) throw new Error(`unit ${key.name} is not running`);
    return r.component as C;
  }

  has(key: UnitKey | string): boolean {
    return this.#find(typeof key === 'string' ? key : key.name) !== undefined;
  }

  /** Brings the running units in line with `specs`; on failure restores the previous set, then throws. */
  async apply(specs: readonly UnitSpec[]): Promise<ApplyResult> {
    try {
      const result = await this.#apply(specs);
      this.#applied = [...specs];
      this.#markDown(specs, undefined);
      return result;
    } catch (e) {
      const previous = this.#applied;
      if (previous) {
        this.log.error({ err: e }, 'a unit failed to start; restoring the previous configuration');
        try {
          await this.#apply(previous);
        } catch (rollbackError) {
          this.log.error({ err: rollbackError }, 'restoring the previous configuration failed too');
        }
      }
      this.#markDown(previous ?? specs, e);
      throw e;
    }
  }

  async stopAll(): Promise<void> {
    for (const r of [...this.#running].reverse()) await this.#stopOne(r, 'shutdown');
    this.#running = [];
    for (const name of this.#down) this.readiness?.unregister(name);
    this.#down.clear();
  }

  #find(name: string): Running | undefined {
    return this.#running.find((u) => u.spec.key.name === name);
  }

  /** Every wanted unit that is not running gets a not-ready entry naming why; running ones lose theirs. */
  #markDown(wanted: readonly UnitSpec[], cause: unknown): void {
    const reason = cause === undefined ? '' : `not running: ${(cause as Error)?.message ?? String(cause)}`;
    const failure = cause === undefined ? undefined : toServiceError(cause, 'units.start');
    for (const spec of wanted) {
      const name = spec.key.name;
      if (this.has(name)) {
        if (this.#down.delete(name)) this.readiness?.unregister(name);
      } else if (cause !== undefined) {
        this.#down.add(name);
        this.readiness?.register(name, () => ({ ready: false, reason, failure }));
      }
    }
  }

  async #apply(specs: readonly UnitSpec[]): Promise<ApplyResult> {
    const result: ApplyResult = { started: [], replaced: [], stopped: [], kept: [] };
    const wanted = new Set(specs.map((s) => s.key.name));
    // A unit is replaced when its slice changed or a unit it depends on is replaced or not running.
    const toReplace = new Set<string>();
    for (const spec of specs) {
      const cur = this.#find(spec.key.name);
      const depChanged = (spec.deps ?? []).some((d) => toReplace.has(d.name) || !this.has(d));
      if (cur && (depChanged || !configEqual(cur.spec.slice, spec.slice))) toReplace.add(spec.key.name);
    }
    // Replaced units that may run beside their successor keep running until it has started.
    const retiring = this.#running.filter((r) => {
      const spec = specs.find((s) => s.key.name === r.spec.key.name);
      return spec !== undefined && toReplace.has(spec.key.name) && spec.overlap?.(r.spec.slice, spec.slice) === true;
    });
    for (const r of [...this.#running].reverse()) {
      const name = r.spec.key.name;
      if (retiring.includes(r)) continue;
      if (!wanted.has(name) || toReplace.has(name)) {
        await this.#stopOne(r, wanted.has(name) ? 'reload' : 'shutdown');
        this.#running = this.#running.filter((x) => x !== r);
        if (!wanted.has(name)) result.stopped.push(name);
      }
    }
    const kept = this.#running.filter((r) => !retiring.includes(r));
    const next: Running[] = [];
    // #running always lists every live component (started so far, plus kept ones not yet
    // revisited), so a failed start leaves nothing untracked and `live` sees a unit as soon as
    // it has started. `next` is in start-completion order, so a unit always follows its
    // dependencies and stopping in reverse stops dependents first. A retiring unit comes last,
    // so `get` and `live` find its successor as soon as that has started.
    const track = () => (this.#running = [...next, ...kept.filter((k) => !next.includes(k)), ...retiring]);
    // Each unit starts as soon as the units it depends on have started: independent units (the
    // store opening, the ECM channels connecting, the ops server listening) start together
    // instead of one after another. After a failure nothing new begins; starts already under
    // way finish (and are tracked) before the first failure is thrown.
    let failure: { error: unknown } | undefined;
    const starting = new Map<string, Promise<boolean>>();
    // At service start the ops server may answer /readyz before the others have started (a unit
    // registers its own probe only once up): until then one entry says what is still starting.
    // Not on reload: the units being replaced there say for themselves whether they are ready,
    // and a restarting non-critical unit (reporting) must not take the replica out of rotation.
    const pending = new Set(
      specs.filter((s) => !kept.some((u) => u.spec.key.name === s.key.name)).map((s) => s.key.name),
    );
    if (pending.size && this.#applied === undefined)
      this.readiness?.register(STARTING, () => ({ ready: false, reason: `starting: ${[...pending].join(', ')}` }));
    const startOne = async (spec: UnitSpec): Promise<boolean> => {
      const name = spec.key.name;
      const cur = kept.find((u) => u.spec.key.name === name);
      if (cur) {
        next.push(cur);
        return true;
      }
      const depsUp = await Promise.all(
        [...(spec.deps ?? []), ...(spec.after ?? [])].map((d) => starting.get(d.name) ?? true),
      );
      if (failure || !depsUp.every(Boolean)) return false;
      try {
        const context: UnitContext = {
          get: <C extends Component>(key: UnitKey<C>): C => {
            const dep = (spec.deps ?? []).some((d) => d.name === key.name)
              ? next.find((u) => u.spec.key.name === key.name)
              : undefined;
            if (!dep) throw new Error(`unit ${name} needs ${key.name}: declare it in deps and configure it earlier`);
            return dep.component as C;
          },
          live:
            <C extends Component>(key: UnitKey<C>) =>
            (): C | undefined =>
              this.#find(key.name)?.component as C | undefined,
        };
        const component = spec.create(spec.slice, context);
        if (this.#down.delete(name)) this.readiness?.unregister(name);
        await component.start();
        next.push({ spec, component });
        const predecessor = retiring.find((r) => r.spec.key.name === name);
        if (predecessor) {
          retiring.splice(retiring.indexOf(predecessor), 1);
          track();
          await this.#stopOne(predecessor, 'reload');
        }
        track();
        return true;
      } catch (e) {
        if (failure) this.log.error({ unit: name, err: e }, 'another unit failed to start too');
        else failure = { error: e };
        return false;
      } finally {
        pending.delete(name);
      }
    };
    // Dependencies come earlier in `specs`, so each unit finds its dependencies' starts in the map.
    for (const spec of specs) starting.set(spec.key.name, startOne(spec));
    await Promise.all(starting.values());
    this.readiness?.unregister(STARTING);
    track();
    if (failure) throw failure.error;
    for (const spec of specs) {
      const name = spec.key.name;
      if (kept.some((u) => u.spec.key.name === name)) result.kept.push(name);
      else (toReplace.has(name) ? result.replaced : result.started).push(name);
    }
    return result;
  }

  async #stopOne(r: Running, reason: StopReason): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), this.graceMs + 1_000)));
    try {
      const outcome = await Promise.race([r.component.stop(this.graceMs, reason).then(() => 'ok' as const), timeout]);
      if (outcome === 'timeout')
        this.log.warn({ unit: r.spec.key.name, graceMs: this.graceMs }, 'unit did not stop within its grace period');
    } catch (e) {
      this.log.error({ unit: r.spec.key.name, err: e }, 'unit failed to stop cleanly');
    } finally {
      clearTimeout(timer);
    }
  }
}
