import { setTimeout as pause } from 'node:timers/promises';
import type { InjectedCredential, OfferedCredential, ReleaseResult } from '../../src/protocol/ecm-protocol.js';
import type { ConsoleDriver } from '../../src/simulators/appliance/console-driver.js';
import type { ConsoleRequestBody } from '../../src/simulators/appliance/sim-console-routes.js';
import type { ConsoleOutcome } from '../../src/simulators/appliance/sim-ecm-hub.js';
import { until as waitUntil } from '../helpers/until.js';

type Op = 'list' | 'get' | 'release';

/** One console request and how it was answered. */
export interface Answer {
  op: Op;
  sentAt: number;
  at: number;
  /** The replica that answered (undefined when the appliance answered for it). */
  by?: string;
  /** ok; refused with a retryable error (by the bridge, or the appliance: channel closed, no ECM); refused for good. */
  kind: 'ok' | 'retryable' | 'refused';
  code?: string;
  leaseId?: string;
  alreadyCheckedIn?: string;
}

/** A credential a console holds: its lease and the session context it was checked out in. */
export interface HeldLease {
  leaseId: string;
  /** The account's user name: a console never holds two leases of one account. */
  account: string;
  by: string;
  ctx: Omit<ConsoleRequestBody, 'op' | 'params'>;
}

/** Between two requests of one console: a person's pace, so the load does not starve the machine. */
const PACE_MS = 150;
/** Credentials one console holds at once; it releases the oldest before the next checkout. */
const HOLD = 3;

/**
 * Console load through the appliance simulator's console driver: `workers` consoles, each
 * listing, checking out and releasing in turn (holding up to HOLD credentials), one request at
 * a time, whichever replica the appliance routes to. `pin` checks out credentials that stay
 * held until `releaseAll` (the live sessions a fault must not end). Every answer is recorded.
 */
export class ConsoleLoad {
  readonly answers: Answer[] = [];
  readonly #pinned: HeldLease[] = [];
  readonly #rolling: HeldLease[][] = [];
  readonly #accounts = new Set<string>();
  #running = false;
  #loops: Promise<void>[] = [];
  #seq = 0;

  constructor(
    private readonly driver: ConsoleDriver,
    private readonly site: string,
  ) {}

  start(workers = 3): void {
    this.#running = true;
    for (let w = 0; w < workers; w++) {
      const held: HeldLease[] = [];
      this.#rolling.push(held);
      this.#loops.push(this.#work(held));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    this.#loops = [];
  }

  /** Every lease a console holds now. */
  held(): HeldLease[] {
    return [...this.#pinned, ...this.#rolling.flat()];
  }

  /** Answers of requests sent at or after `t`. */
  since(t: number, op?: Op): Answer[] {
    return this.answers.filter((a) => a.sentAt >= t && (op === undefined || a.op === op));
  }

  /** Checks out `n` credentials that stay held until releaseAll; returns them. */
  async pin(n: number): Promise<HeldLease[]> {
    const out: HeldLease[] = [];
    while (out.length < n) {
      const lease = await this.#checkout();
      if (lease) out.push(lease);
      else await pause(PACE_MS);
    }
    this.#pinned.push(...out);
    return out;
  }

  /** Releases `lease` once; after a retryable refusal it stays held. */
  async release(lease: HeldLease): Promise<Answer> {
    const a = await this.#send('release', lease.ctx, { leaseId: lease.leaseId }, (o) => {
      const told = (o.result as ReleaseResult | undefined)?.alreadyCheckedIn;
      return { leaseId: lease.leaseId, ...(told && { alreadyCheckedIn: told.reason }) };
    });
    if (a.kind !== 'retryable') this.#forget(lease);
    return a;
  }

  /** Releases every held lease, asking again after a retryable refusal. */
  async releaseAll(): Promise<void> {
    await waitUntil(
      async () => {
        for (const lease of this.held()) {
          const a = await this.release(lease);
          if (a.kind === 'retryable') await pause(PACE_MS);
        }
        return this.held().length === 0;
      },
      'every held credential released',
      240_000,
      PACE_MS,
    );
  }

  #forget(lease: HeldLease): void {
    this.#accounts.delete(lease.account);
    for (const list of [this.#pinned, ...this.#rolling]) {
      const i = list.indexOf(lease);
      if (i >= 0) list.splice(i, 1);
    }
  }

  async #work(held: HeldLease[]): Promise<void> {
    while (this.#running) {
      if (held.length >= HOLD) await this.release(held[0]!);
      else {
        const lease = await this.#checkout();
        if (lease) held.push(lease);
      }
      await pause(PACE_MS);
    }
  }

  /** A list, then a get of one offered credential: the lease, or undefined if either was refused. */
  async #checkout(): Promise<HeldLease | undefined> {
    const n = ++this.#seq;
    const ctx = consoleContext(`${this.site}-${n}`.slice(-60));
    const listed = await this.#send('list', ctx, { purpose: 'login' });
    const offered = (listed.result as { credentials?: OfferedCredential[] } | undefined)?.credentials;
    if (!offered?.length) return undefined;
    const free = offered.filter((c) => !this.#accounts.has(c.username));
    const cred = free[n % free.length];
    if (!cred) return undefined;
    this.#accounts.add(cred.username);
    const got = await this.#send('get', ctx, { credentialId: cred.id }, (o) => ({
      ...(o.result !== undefined && { leaseId: (o.result as { credential: InjectedCredential }).credential.leaseId }),
    }));
    if (got.kind === 'ok' && got.leaseId) return { leaseId: got.leaseId, account: cred.username, by: got.by!, ctx };
    this.#accounts.delete(cred.username);
    return undefined;
  }

  async #send(
    op: Op,
    ctx: Omit<ConsoleRequestBody, 'op' | 'params'>,
    params: Record<string, unknown>,
    extra: (o: ConsoleOutcome) => Partial<Answer> = () => ({}),
  ): Promise<Answer & { result?: unknown }> {
    const sentAt = Date.now();
    const o = await this.driver.send({ ...ctx, op: `credentials.${op}`, params } as ConsoleRequestBody);
    const kind: Answer['kind'] =
      o.answeredBy === 'ecm' && !o.error
        ? 'ok'
        : o.answeredBy === 'appliance' || o.error?.retryable
          ? 'retryable'
          : 'refused';
    const a: Answer = {
      op,
      sentAt,
      at: Date.now(),
      kind,
      ...(o.ecmInstanceId !== undefined && { by: o.ecmInstanceId }),
      ...((o.error?.code ?? o.applianceReason) !== undefined && { code: o.error?.code ?? o.applianceReason }),
      ...extra(o),
    };
    this.answers.push(a);
    return { ...a, result: o.result };
  }
}

/** A console user's request context (the demo estate's Jane Doe on web01), in session `lsid`. */
function consoleContext(lsid: string): Omit<ConsoleRequestBody, 'op' | 'params'> {
  return {
    user: { id: 42, username: 'CORP\\jdoe', displayName: 'Jane Doe', securityProvider: { id: 3, name: 'Corp AD' } },
    endpoint: { hostname: 'web01', fqdn: 'web01.corp.example.com', ip: '10.0.4.17:3389', os: 'Windows Server 2022' },
    jumpItem: {
      id: 9001,
      name: 'web01 RDP',
      type: 'rdp',
      networkId: 'CORP',
      jumpGroup: { id: 7, name: 'Web servers', type: 'shared' },
    },
    session: { lsid, externalKey: 'CHG-1234' },
  };
}
