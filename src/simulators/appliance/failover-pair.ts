import { ApplianceSimulator, type ApplianceSimulatorOptions } from './appliance-simulator.js';
import { ReportingSimulator } from './reporting/reporting-simulator.js';
import type { SessionGenerator } from './reporting/session-generator.js';
import type { FailoverRole } from './sim-command-api.js';
import { SharedAddress } from './shared-address.js';
import { generateSimTls } from './sim-tls.js';

export interface PairSessions {
  /** The sessions of the site; each ran on the node that was primary when it started. */
  generator: SessionGenerator;
  /** Data sync lag: a node sees the other node's sessions that started before `now - lag`. */
  syncLagMs?: number;
}

export interface FailoverPairOptions extends Omit<ApplianceSimulatorOptions, 'failoverRole' | 'tls' | 'port'> {
  /** Mounts the Reporting API on both nodes, each serving only the sessions it holds. */
  sessions?: PairSessions;
  /**
   * Also serves the pair behind one address (`sharedUrl`) that follows the primary: a shared-IP,
   * DNS-swing or NAT site, configured without `nodes`.
   */
  sharedAddress?: boolean;
}

/**
 * Two simulated nodes of one site in a failover pair: same accounts and certificate, separate
 * token stores (whether tokens survive a role change is undocumented, so the bridge must re-mint).
 * `swap()` turns the primary into the backup (its channels close with 1001) and vice versa after
 * a data sync; `failover()` does so without one (the primary died) and the sync stays stopped
 * until `resumeSync()`. With `sessions`, each node serves the sessions that ran on it plus those of
 * the other node that started before the last data sync (`last_data_sync_time` of check_health).
 * `failedSync()` is a sync attempt that failed: check_health reports its time with
 * `last_data_sync_status` `Failed`, and nothing more is visible on the other node.
 */
export class FailoverPair {
  readonly nodes: [ApplianceSimulator, ApplianceSimulator];
  /** Which node was primary from when (sessions run on the primary of their start time). */
  readonly #history: { at: number; node: 0 | 1 }[] = [{ at: -Infinity, node: 0 }];
  readonly #now: () => number;
  readonly #lagMs: number;
  #syncedAt = -Infinity;
  #frozenAt: number | undefined;
  /** The last sync attempt, when it failed (until the next successful sync). */
  #failedAt: number | undefined;
  readonly #shared: SharedAddress | undefined;
  readonly #sharedPort: number;

  /** `ports`: listening ports of the two nodes and of the shared address (0 = any free port). */
  constructor(options: FailoverPairOptions, ports: [number, number, number?] = [0, 0]) {
    const { sessions, sharedAddress, ...simOptions } = options;
    this.#now = options.now ?? Date.now;
    this.#lagMs = sessions?.syncLagMs ?? 0;
    const node = (k: 0 | 1, role: FailoverRole) =>
      new ApplianceSimulator({
        ...simOptions,
        port: ports[k],
        failoverRole: role,
        lastSyncAt: () => this.#failedAt ?? this.lastSyncAt(),
        lastSyncStatus: () => (this.#failedAt === undefined ? 'Success' : 'Failed'),
        ...(sessions
          ? {
              reporting: new ReportingSimulator({
                generator: sessions.generator,
                now: this.#now,
                visible: (i) =>
                  this.#ranOn(sessions.generator.startMs(i)) === k || sessions.generator.startMs(i) < this.lastSyncAt(),
              }).handle,
            }
          : {}),
      });
    this.nodes = [node(0, 'primary'), node(1, 'backup')];
    for (const n of this.nodes) n.pair = this;
    this.#shared = sharedAddress ? new SharedAddress(0) : undefined;
    this.#sharedPort = ports[2] ?? 0;
  }

  async start(): Promise<void> {
    const tls = await generateSimTls(this.nodes[0].hostname);
    await Promise.all(this.nodes.map((n) => n.start(tls)));
    this.#shared?.moveTo(this.nodes[0].port);
    await this.#shared?.start(this.#sharedPort);
  }

  /** `https://127.0.0.1:PORT` of the shared address (with `sharedAddress`): reaches the primary. */
  get sharedUrl(): string {
    if (!this.#shared) throw new Error('this pair has no shared address (sharedAddress option)');
    return `https://127.0.0.1:${this.#shared.port}`;
  }

  get primary(): ApplianceSimulator {
    return this.nodes.find((n) => n.role === 'primary') as ApplianceSimulator;
  }

  get backup(): ApplianceSimulator {
    return this.nodes.find((n) => n.role === 'backup') as ApplianceSimulator;
  }

  get caPem(): string {
    return this.nodes[0].caPem;
  }

  /** When the pair last synced its data (frozen while the sync is stopped). */
  lastSyncAt(): number {
    return this.#frozenAt ?? Math.max(this.#syncedAt, this.#now() - this.#lagMs);
  }

  /** A planned role swap: the pair syncs first, so nothing is missing on the new primary. */
  swap(): void {
    this.#syncedAt = this.#now();
    this.#switch();
  }

  /** An unplanned failover: the backup takes over without a sync, and the sync stays stopped. */
  failover(): void {
    this.#frozenAt = this.lastSyncAt();
    this.#switch();
  }

  /** The failed node is back: the pair syncs (both nodes hold everything again). */
  resumeSync(): void {
    this.#frozenAt = undefined;
    this.#failedAt = undefined;
    this.#syncedAt = this.#now();
  }

  /** A sync attempt that failed now: reported with status `Failed`, nothing more becomes visible. */
  failedSync(): void {
    this.#frozenAt = this.lastSyncAt();
    this.#failedAt = this.#now();
  }

  /** Both nodes in one role: `backup` (mid-swap, no primary) or `primary` (split brain). */
  setBoth(role: 'primary' | 'backup'): void {
    for (const n of this.nodes) n.setRole(role);
  }

  async stop(): Promise<void> {
    await this.#shared?.stop();
    await Promise.all(this.nodes.map((n) => n.stop()));
  }

  #switch(): void {
    const old = (this.#history.at(-1) as { node: 0 | 1 }).node;
    const next = (1 - old) as 0 | 1;
    this.nodes[old].setRole('backup');
    this.nodes[next].setRole('primary');
    this.#shared?.moveTo(this.nodes[next].port);
    this.#history.push({ at: this.#now(), node: next });
  }

  #ranOn(startMs: number): 0 | 1 {
    let node: 0 | 1 = 0;
    for (const h of this.#history) if (h.at <= startMs) node = h.node;
    return node;
  }
}
