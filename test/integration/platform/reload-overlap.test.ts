import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeService } from '../../../src/app/bridge-service.js';
import { parseConfigText, type Config } from '../../../src/app/config-schema.js';
import { UNITS } from '../../../src/app/units/unit-keys.js';
import { systemClock } from '../../../src/platform/clock.js';
import { ServiceError } from '../../../src/platform/errors.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';

// One bridge (embedded in-memory store, ops server) for the file; its reloads run in order.
const config = (port: number, http = ''): Config =>
  parseConfigText(
    `store: { kind: embedded, dataDir: "memory://" }\nreporting: { enabled: false }\nhttp: { host: 127.0.0.1, port: ${port}${http} }\nlog: { level: silent }\n`,
    'reload-overlap.yaml',
  );

describe('reload: start new, then stop old; one outcome counted per reload', () => {
  const rt = {
    log: silentLogger(),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    readiness: new Readiness(),
    clock: systemClock,
    instanceId: 'reload-overlap',
  };
  const service = new BridgeService(config(0), rt, 1000);
  let taken: Server;

  beforeAll(async () => {
    await service.start();
    // A port another process holds: an ops server asked to listen there cannot start.
    taken = createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
  }, 300_000);
  afterAll(async () => {
    await service.stop();
    taken.close();
  });

  const outcomes = async () => {
    const counter = rt.metrics.getSingleMetric('ecm_bridge_config_reloads_total')!;
    return Object.fromEntries((await counter.get()).values.map((v) => [v.labels.outcome, v.value]));
  };
  const opsPort = () => service.unit(UNITS.ops).address.port;
  const readyz = async (port: number) => {
    const res = await request(`http://127.0.0.1:${port}/readyz`);
    await res.body.dump();
    return res.statusCode;
  };

  it('a new ops server that cannot start leaves the old one answering throughout; one failed reload', async () => {
    const old = opsPort();
    expect(await readyz(old)).toBe(200);
    const answers: (number | string)[] = [];
    let reloading = true;
    const poll = (async () => {
      // Polls the old server until the reload has returned (at least once after it).
      do {
        answers.push(await readyz(old).catch((e: Error) => e.message));
      } while (reloading);
      answers.push(await readyz(old).catch((e: Error) => e.message));
    })();
    const takenPort = (taken.address() as { port: number }).port;
    const outcome = await service.reload(() => config(takenPort));
    reloading = false;
    await poll;

    expect(outcome).toMatchObject({ outcome: 'failed', error: { code: 'config.invalid' } });
    expect(answers.length).toBeGreaterThan(1);
    expect(answers.every((a) => a === 200)).toBe(true);
    expect(opsPort()).toBe(old);
    expect(await outcomes()).toEqual({ applied: 0, rejected: 0, failed: 1 });
  });

  it('a file that cannot be used counts one rejected reload; a good one, one applied, the new server up before the old stops', async () => {
    const rejected = await service.reload(() => {
      throw new ServiceError('config.unreadable', 'cannot read reload-overlap.yaml');
    });
    expect(rejected.outcome).toBe('rejected');
    expect(await outcomes()).toEqual({ applied: 0, rejected: 1, failed: 1 });

    const old = opsPort();
    // Port 0 again is a new port: the new server binds it while the old one still answers.
    const applied = await service.reload(() => config(0, ', publicNames: [bridge.example.com]'));
    expect(applied).toMatchObject({ outcome: 'applied', result: { replaced: ['ops-server'] } });
    expect(opsPort()).not.toBe(old);
    expect(await readyz(opsPort())).toBe(200);
    await expect(readyz(old)).rejects.toThrow();
    expect(await outcomes()).toEqual({ applied: 1, rejected: 1, failed: 1 });
  });
});
