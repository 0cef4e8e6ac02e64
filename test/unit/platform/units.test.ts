import { describe, expect, it } from 'vitest';
import type { Component } from '../../../src/platform/lifecycle.js';
import { Secret } from '../../../src/platform/secret.js';
import { UnitSet, type UnitSpec } from '../../../src/platform/units.js';
import { captureLogger } from '../../helpers/log-capture.js';

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
  { key: 'vault', slice: vault, create: () => new Probe('vault') },
  ...Object.entries(sites).map(([name, slice]) => ({
    key: `site:${name}`,
    slice,
    deps: ['vault'],
    create: (get: <T extends Component>(k: string) => T) => new Probe(`site:${name}`, get<Probe>('vault')),
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
    const aBefore = units.get<Probe>('site:a');

    Probe.events = [];
    const r = await units.apply(
      specs({ a: { url: 'https://a', secret: new Secret('s1') }, c: { url: 'https://c' } }, { url: 'v' }),
    );
    expect(r).toEqual({ started: ['site:c'], replaced: [], stopped: ['site:b'], kept: ['vault', 'site:a'] });
    expect(units.get<Probe>('site:a')).toBe(aBefore);
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
    expect(units.get<Probe>('site:a').dep).toBe(units.get<Probe>('vault'));
    expect(Probe.events).toEqual(['stop site:a (reload)', 'stop vault (reload)', 'start vault', 'start site:a']);
    Probe.events = [];
    await units.stopAll();
    expect(Probe.events).toEqual(['stop site:a', 'stop vault']);
  });

  it('keeps tracking what started when a later unit fails to start, so stopAll stops it', async () => {
    Probe.events = [];
    const units = new UnitSet(captureLogger().log, 1000);
    const failing: UnitSpec = {
      key: 'broken',
      slice: {},
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
      { key: 'user', slice: {}, create: (_get, live) => ((lookup = live('target')), new Probe('user')) },
      { key: 'target', slice: { v: 1 }, create: () => new Probe('target-1') },
    ]);
    expect((lookup!() as Probe).name).toBe('target-1');
    await units.apply([
      { key: 'user', slice: {}, create: () => new Probe('user-2') },
      { key: 'target', slice: { v: 2 }, create: () => new Probe('target-2') },
    ]);
    expect(units.get<Probe>('user').name).toBe('user');
    expect((lookup!() as Probe).name).toBe('target-2');
  });
});
