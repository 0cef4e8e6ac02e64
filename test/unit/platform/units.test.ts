import { describe, expect, it } from 'vitest';
import type { Component } from '../../../src/platform/lifecycle.js';
import { Secret } from '../../../src/platform/secret.js';
import { unitKey, UnitSet, type UnitContext, type UnitSpec } from '../../../src/platform/units.js';

const key = (name: string) => unitKey<Probe>(name);
import { Readiness } from '../../../src/platform/readiness.js';
import { captureLogger } from '../../helpers/log-capture.js';
import { until } from '../../helpers/until.js';

class Probe implements Component {
  static events: string[] = [];
  constructor(
    readonly name: string,
    readonly dep?: Probe,
  ) {}
  async start() {
    Probe.events.push(`start ${this.name}`);
  }
  async stop(_grace: number, reason?: string) {
    Probe.events.push(`stop ${this.name}${reason === 'reload' ? ' (reload)' : ''}`);
  }
}

const specs = (sites: Record<string, unknown>, vault: unknown): UnitSpec[] => [
  { key: key('vault'), slice: vault, create: () => new Probe('vault') },
  ...Object.entries(sites).map(([name, slice]) => ({
    key: key(`site:${name}`),
    slice,
    deps: [key('vault')],
    create: (_slice: unknown, units: UnitContext) => new Probe(`site:${name}`, units.get(key('vault'))),
  })),
];

describe('UnitSet (config reload)', () => {
  it('keeps unchanged units running, replaces changed ones, stops removed ones', async () => {
    Probe.events = [];
    const units = new UnitSet(captureLogger().log, 1000);
    await units.apply(
      specs({ a: { url: 'https://a', secret: new Secret('s1') }, b: { url: 'https://b' } }, { url: 'v' }),
    );
    expect(Probe.events).toEqual(['start vault', 'start site:a', 'start site:b']);
    const aBefore = units.get(key('site:a'));

    Probe.events = [];
    const r = await units.apply(
      specs({ a: { url: 'https://a', secret: new Secret('s1') }, c: { url: 'https://c' } }, { url: 'v' }),
    );
    expect(r).toEqual({ started: ['site:c'], replaced: [], stopped: ['site:b'], kept: ['vault', 'site:a'] });
    expect(units.get(key('site:a'))).toBe(aBefore);
    expect(Probe.events).toEqual(['stop site:b', 'start site:c']);

    Probe.events = [];
    const r2 = await units.apply(
      specs({ a: { url: 'https://a', secret: new Secret('s2') }, c: { url: 'https://c' } }, { url: 'v' }),
    );
    expect(r2.replaced).toEqual(['site:a']);
    expect(r2.kept).toEqual(['vault', 'site:c']);
  });

  it('replaces the dependents of a changed unit', async () => {
    Probe.events = [];
    const units = new UnitSet(captureLogger().log, 1000);
    await units.apply(specs({ a: {} }, { url: 'v1' }));
    Probe.events = [];
    const r = await units.apply(specs({ a: {} }, { url: 'v2' }));
    expect(r.replaced).toEqual(['vault', 'site:a']);
    expect(units.get(key('site:a')).dep).toBe(units.get(key('vault')));
    expect(Probe.events).toEqual(['stop site:a (reload)', 'stop vault (reload)', 'start vault', 'start site:a']);
    Probe.events = [];
    await units.stopAll();
    expect(Probe.events).toEqual(['stop site:a', 'stop vault']);
  });

  it('keeps tracking what started when a later unit fails to start, so stopAll stops it', async () => {
    Probe.events = [];
    const units = new UnitSet(captureLogger().log, 1000);
    const failing: UnitSpec = {
      key: key('broken'),
      slice: {},
      deps: [key('site:a')],
      create: () => ({
        name: 'broken',
        start: async () => {
          throw new Error('db down');
        },
        stop: async () => {},
      }),
    };
    await expect(units.apply([...specs({ a: {} }, { url: 'v' }), failing])).rejects.toThrow('db down');
    expect(units.has('vault') && units.has('site:a')).toBe(true);
    Probe.events = [];
    await units.stopAll();
    expect(Probe.events).toEqual(['stop site:a', 'stop vault']);
  });

  it('lets a unit find another running unit at call time without depending on it', async () => {
    const units = new UnitSet(captureLogger().log, 1000);
    let lookup: (() => Component | undefined) | undefined;
    await units.apply([
      { key: key('user'), slice: {}, create: (_s, units) => ((lookup = units.live(key('target'))), new Probe('user')) },
      { key: key('target'), slice: { v: 1 }, create: () => new Probe('target-1') },
    ]);
    expect((lookup!() as Probe).name).toBe('target-1');
    await units.apply([
      { key: key('user'), slice: {}, create: () => new Probe('user-2') },
      { key: key('target'), slice: { v: 2 }, create: () => new Probe('target-2') },
    ]);
    expect(units.get(key('user')).name).toBe('user');
    expect((lookup!() as Probe).name).toBe('target-2');
  });
});

describe('UnitSet (failed reload)', () => {
  const failing = (name: string, message: string): UnitSpec => ({
    key: key(name),
    slice: { broken: true },
    create: () => ({
      name,
      start: async () => {
        throw new Error(message);
      },
      stop: async () => {},
    }),
  });

  it('restores the previous units when a unit of the new set fails to start, and a later good set applies', async () => {
    Probe.events = [];
    const readiness = new Readiness();
    const units = new UnitSet(captureLogger().log, 1000, readiness);
    const good = specs({ a: { url: 'https://a' } }, { url: 'v1' });
    await units.apply(good);
    const vaultBefore = units.get(key('vault'));

    Probe.events = [];
    // The new vault slice replaces the vault and the site; then the store cannot open.
    const bad = [
      failing('store', 'cannot open the store: password rejected'),
      ...specs({ a: { url: 'https://a' } }, { url: 'v2' }),
    ];
    await expect(units.apply(bad)).rejects.toThrow('password rejected');
    expect(units.has('vault') && units.has('site:a')).toBe(true);
    expect(units.get(key('vault'))).not.toBe(vaultBefore); // rebuilt from its previous slice
    expect(units.has('store')).toBe(false); // not wanted by the restored set
    expect((await readiness.report()).ready).toBe(true);

    const r = await units.apply(specs({ a: { url: 'https://a' } }, { url: 'v2' }));
    expect(r.replaced).toEqual(['vault', 'site:a']);
    await units.stopAll();
  });

  it('reports every wanted unit that is not running as not ready, with the error', async () => {
    const readiness = new Readiness();
    const units = new UnitSet(captureLogger().log, 1000, readiness);
    await units.apply(specs({ a: {} }, { url: 'v1' }));
    // The replacement fails and so does the rollback: the vault's previous slice cannot start either.
    let fail = false;
    const flaky: UnitSpec = {
      key: key('vault'),
      slice: { url: 'v1' },
      create: () => ({
        name: 'vault',
        start: async () => {
          if (fail) throw new Error('vault unreachable');
        },
        stop: async () => {},
      }),
    };
    await units.apply([flaky, ...specs({ a: {} }, { url: 'v1' }).slice(1)]);
    fail = true;
    await expect(units.apply([{ ...flaky, slice: { url: 'v2' } }])).rejects.toThrow('vault unreachable');
    const report = await readiness.report();
    expect(report.ready).toBe(false);
    // An error that is no ServiceError is a bug: its code is `internal`, its text stays in the reason.
    expect(report.components.vault).toEqual({
      ready: false,
      critical: true,
      reason: 'not running: vault unreachable',
      code: 'internal',
    });
    expect(report.components['site:a']?.ready).toBe(false);
    fail = false;
    await units.apply([flaky, ...specs({ a: {} }, { url: 'v1' }).slice(1)]);
    expect((await readiness.report()).ready).toBe(true);
    await units.stopAll();
  });
});

/** A unit whose start waits until the test opens its gate; `begun` resolves when start was called. */
function gated(name: string, events: string[], deps: string[] = []) {
  let open!: () => void;
  let begun!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const started = new Promise<void>((r) => (begun = r));
  const spec: UnitSpec = {
    key: key(name),
    slice: {},
    deps: deps.map(key),
    create: () => ({
      name,
      start: async () => {
        events.push(`begin ${name}`);
        begun();
        await gate;
        events.push(`started ${name}`);
      },
      stop: async () => void events.push(`stop ${name}`),
    }),
  };
  return { spec, open, begun: started };
}

describe('UnitSet (concurrent start)', () => {
  it('starts a unit as soon as its dependencies are up: an independent unit does not wait for a slow one', async () => {
    const events: string[] = [];
    const store = gated('store', events);
    const ops = gated('ops', events);
    const broker = gated('broker', events, ['store']);
    const readiness = new Readiness();
    const units = new UnitSet(captureLogger().log, 1000, readiness);
    const applying = units.apply([store.spec, broker.spec, ops.spec]);
    ops.open();
    await Promise.all([store.begun, ops.begun]);
    // The ops server is up while the store is still opening; the broker waits for the store.
    await until(() => events.includes('started ops'), 'the ops unit to start');
    expect(events).toEqual(['begin store', 'begin ops', 'started ops']);
    expect(units.has('ops')).toBe(true);
    // /readyz, already served, says what is still starting.
    expect(await readiness.report()).toEqual({
      ready: false,
      components: { starting: { ready: false, critical: true, reason: 'starting: store, broker' } },
    });
    store.open();
    await broker.begun;
    broker.open();
    expect(await applying).toEqual({ started: ['store', 'broker', 'ops'], replaced: [], stopped: [], kept: [] });
    expect(events.slice(3)).toEqual(['started store', 'begin broker', 'started broker']);
    expect(await readiness.report()).toEqual({ ready: true, components: {} });
    events.length = 0;
    await units.stopAll();
    expect(events.indexOf('stop broker')).toBeLessThan(events.indexOf('stop store'));
  });

  it('a unit `after` another starts once it started, never when it failed, and stays when it is replaced (issue 29)', async () => {
    Probe.events = [];
    const set = (storeSlice: unknown, fail = false): UnitSpec[] => [
      {
        key: key('store'),
        slice: storeSlice,
        create: () =>
          fail
            ? {
                name: 'store',
                start: () => Promise.reject(new Error('data directory locked by process 42')),
                stop: async () => undefined,
              }
            : new Probe('store'),
      },
      {
        key: key('channel'),
        slice: {},
        after: [key('store')],
        create: () => new Probe('channel'),
      },
    ];
    // A store that cannot open: the channel never starts (no ECM channel, no port).
    await expect(new UnitSet(captureLogger().log, 1000).apply(set('dir', true))).rejects.toThrow(
      'locked by process 42',
    );
    expect(Probe.events).toEqual([]);
    const units = new UnitSet(captureLogger().log, 1000);
    await units.apply(set('dir'));
    expect(Probe.events).toEqual(['start store', 'start channel']);
    // Order only: replacing the store keeps the channel running.
    const r = await units.apply(set('other dir'));
    expect(r.replaced).toEqual(['store']);
    expect(r.kept).toEqual(['channel']);
    // (units are listed dependencies first, as serviceUnits lists the store before the channels)
    await units.stopAll();
  });

  it('when a unit fails while others start, waits for them, begins nothing more, and stops what started', async () => {
    const events: string[] = [];
    const slow = gated('slow', events);
    const after = gated('after-slow', events, ['slow']);
    const failing: UnitSpec = {
      key: key('failing'),
      slice: {},
      create: () => ({
        name: 'failing',
        start: async () => {
          await slow.begun;
          slow.open(); // finishes only after this unit failed
          throw new Error('port in use');
        },
        stop: async () => void events.push('stop failing'),
      }),
    };
    const units = new UnitSet(captureLogger().log, 1000);
    await expect(units.apply([slow.spec, after.spec, failing])).rejects.toThrow('port in use');
    // The slow start finished and is tracked; its dependent never began (a failure stops new starts).
    expect(events).toEqual(['begin slow', 'started slow']);
    expect(units.has('slow')).toBe(true);
    await units.stopAll();
    expect(events.at(-1)).toBe('stop slow');
    expect(units.has('slow')).toBe(false);
  });

  it('on a failed reload, the rollback stops units that started concurrently with the failing one', async () => {
    const events: string[] = [];
    const units = new UnitSet(captureLogger().log, 1000);
    await units.apply([{ key: key('vault'), slice: { v: 1 }, create: () => new Probe('vault') }]);
    const slow = gated('new-site', events);
    const failing: UnitSpec = {
      key: key('store'),
      slice: {},
      create: () => ({
        name: 'store',
        start: async () => {
          await slow.begun;
          slow.open();
          throw new Error('password rejected');
        },
        stop: async () => {},
      }),
    };
    const next = [{ key: key('vault'), slice: { v: 1 }, create: () => new Probe('vault') }, slow.spec, failing];
    await expect(units.apply(next)).rejects.toThrow('password rejected');
    expect(events).toEqual(['begin new-site', 'started new-site', 'stop new-site']);
    expect(units.has('new-site')).toBe(false);
    expect(units.has('vault')).toBe(true);
    await units.stopAll();
  });

  it('on reload, adds no "starting" entry: a restarting unit speaks for itself', async () => {
    const events: string[] = [];
    const readiness = new Readiness();
    const units = new UnitSet(captureLogger().log, 1000, readiness);
    await units.apply([{ key: key('vault'), slice: {}, create: () => new Probe('vault') }]);
    const reporting = gated('reporting', events);
    const applying = units.apply([{ key: key('vault'), slice: {}, create: () => new Probe('vault') }, reporting.spec]);
    await reporting.begun;
    expect((await readiness.report()).components.starting).toBeUndefined();
    reporting.open();
    await applying;
    await units.stopAll();
  });
  it('a unit that may overlap starts its replacement first and stops the old one only once it started', async () => {
    Probe.events = [];
    let fail = false;
    const ops = (port: number): UnitSpec<{ port: number }, Probe> => ({
      key: key('ops'),
      slice: { port },
      overlap: (previous, next) => previous.port !== next.port,
      create: (slice) =>
        new (class extends Probe {
          override async start() {
            if (fail) throw new Error(`port ${slice.port} in use`);
            await super.start();
          }
        })(`ops:${slice.port}`),
    });
    const units = new UnitSet(captureLogger().log, 1000);
    await units.apply([ops(1)]);
    Probe.events = [];
    await units.apply([ops(2)]);
    expect(Probe.events).toEqual(['start ops:2', 'stop ops:1 (reload)']);
    expect(units.get(key('ops')).name).toBe('ops:2');

    // A replacement that fails to start: the old one is never stopped, so nothing is rebuilt.
    Probe.events = [];
    fail = true;
    await expect(units.apply([ops(3)])).rejects.toThrow('port 3 in use');
    expect(Probe.events).toEqual([]);
    expect(units.get(key('ops')).name).toBe('ops:2');

    // Where it may not overlap (same port, another setting), the old one stops first, as every other unit does.
    fail = false;
    const samePort: UnitSpec<{ port: number; token: string }, Probe> = {
      key: key('ops'),
      slice: { port: 2, token: 'new' },
      overlap: (previous, next) => previous.port !== next.port,
      create: () => new Probe('ops:2b'),
    };
    await units.apply([samePort]);
    expect(Probe.events).toEqual(['stop ops:2 (reload)', 'start ops:2b']);
    await units.stopAll();
  });
});
