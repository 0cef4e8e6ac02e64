import { afterEach, describe, expect, it } from 'vitest';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import type { Op, OpResults } from '../../../src/protocol/ecm-protocol.js';
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

/** A handler that answers credentials.get only once `late` settles, and records check-ins. */
class LateHandler extends ScriptedHandler {
  readonly checkedIn: string[] = [];
  constructor(late: Promise<void>) {
    super(async (op) => {
      if (op === 'credentials.get') await late;
      return defaultResult(op);
    });
  }
  async undelivered(op: Op, answer: OpResults[Op]): Promise<void> {
    if (op === 'credentials.get') this.checkedIn.push((answer as OpResults['credentials.get']).credential.leaseId);
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
    let answerLate!: () => void;
    const handler = new LateHandler(new Promise((r) => (answerLate = r)));
    started = await startLink(sim.url, writeCa(sim.caPem), handler);
    await until(() => started?.link.status().state === 'connected', 'connected');
    const outcome = await sim.hub.request('Default', 'credentials.get', USER, { credentialId: 'c1' }, 300);
    expect(outcome.error?.code).toBe('timeout');
    // The link's own deadline (shortly before the appliance's) has passed once its timeout answer
    // is in: either it was the answer, or it came after the appliance's and was counted late.
    await until(
      () => outcome.answeredBy === 'ecm' || sim!.hub.stats.lateResponses === 1,
      'the link gave up on the request',
    );
    answerLate(); // the answer comes after the deadline the appliance already enforced
    await until(() => handler.checkedIn.length === 1, 'undeliverable check-in');
    expect(handler.checkedIn).toEqual(['l1']);
  });
});
