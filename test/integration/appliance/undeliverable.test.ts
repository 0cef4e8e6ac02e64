import { afterEach, describe, expect, it } from 'vitest';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import {
  defaultResult,
  ECM_ACCOUNT,
  ScriptedHandler,
  startLink,
  until,
  USER,
  writeCa,
  type StartedLink,
} from './harness.js';

/** A handler that answers credentials.get only after the deadline, and records check-ins. */
class LateHandler extends ScriptedHandler {
  readonly checkedIn: string[] = [];
  constructor() {
    super(
      (op) =>
        new Promise((resolve) => setTimeout(() => resolve(defaultResult(op)), op === 'credentials.get' ? 600 : 0)),
    );
  }
  async undeliverable(leaseId: string): Promise<void> {
    this.checkedIn.push(leaseId);
  }
}

describe('a credential that cannot be delivered', () => {
  let sim: ApplianceSimulator | undefined;
  let started: StartedLink | undefined;
  afterEach(async () => {
    await started?.link.stop(200);
    await sim?.stop();
  });

  it('is handed back to the handler for check-in when its answer comes after the deadline', async () => {
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 100, maxRequestMs: 2000 });
    await sim.start();
    const handler = new LateHandler();
    started = await startLink(sim.url, writeCa(sim.caPem), handler);
    await until(() => started?.link.status().state === 'connected', 'connected');
    const outcome = await sim.hub.request('Default', 'credentials.get', USER, { credentialId: 'c1' }, 300);
    expect(outcome.error?.code).toBe('timeout');
    await until(() => handler.checkedIn.length === 1, 'undeliverable check-in');
    expect(handler.checkedIn).toEqual(['l1']);
  });
});
