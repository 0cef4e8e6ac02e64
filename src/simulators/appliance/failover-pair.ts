import { ApplianceSimulator, type ApplianceSimulatorOptions } from './appliance-simulator.js';
import { generateSimTls } from './sim-tls.js';

/**
 * Two simulated nodes of one site in a failover pair: same accounts and certificate, separate
 * token stores (whether tokens survive a role change is undocumented, so the bridge must re-mint).
 * `swap()` turns the primary into the backup (its channels close with 1001) and vice versa.
 */
export class FailoverPair {
  readonly nodes: [ApplianceSimulator, ApplianceSimulator];

  /** `ports`: listening ports of the two nodes (0 = any free port). */
  constructor(
    options: Omit<ApplianceSimulatorOptions, 'failoverRole' | 'tls' | 'port'>,
    ports: [number, number] = [0, 0],
  ) {
    this.nodes = [
      new ApplianceSimulator({ ...options, port: ports[0], failoverRole: 'primary' }),
      new ApplianceSimulator({ ...options, port: ports[1], failoverRole: 'backup' }),
    ];
  }

  async start(): Promise<void> {
    const tls = await generateSimTls(this.nodes[0].hostname);
    await Promise.all(this.nodes.map((n) => n.start(tls)));
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

  swap(): void {
    const [oldPrimary, oldBackup] = [this.primary, this.backup];
    oldPrimary.setRole('backup');
    oldBackup.setRole('primary');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
