import { ApplianceSimulator, type ApplianceSimulatorOptions } from './appliance-simulator.js';
import { FailoverPair, type PairSessions } from './failover-pair.js';
import { ReportingSimulator } from './reporting/reporting-simulator.js';
import type { SessionGenerator } from './reporting/session-generator.js';
import type { SimTokenStore } from './sim-token-store.js';
import { SimTrafficNode } from './sim-traffic-node.js';

export interface AtlasClusterOptions extends Omit<ApplianceSimulatorOptions, 'reporting' | 'tls'> {
  /** The sessions; its `trafficNodes` are the cluster's traffic nodes (public names), one server each. */
  generator: SessionGenerator;
  /**
   * What the primary answers a `*SessionRecording` request with (it holds no recordings):
   * `traffic` redirects to the node the session ran on (its public name), `{ origin }` redirects
   * to that origin (a host outside the cluster); absent, an `<error>`. Single primary only.
   */
  recordingRedirect?: 'traffic' | { origin: string };
  /**
   * The primary is a failover pair (the recommended Atlas setup, see FailoverPair): `pair` holds
   * both nodes, `primary` is whichever is primary now, and the traffic nodes accept the tokens
   * either node mints.
   */
  failoverPair?: Omit<PairSessions, 'generator'>;
}

/**
 * A simulated Atlas cluster: a primary (OAuth, ECM channel, Command and Reporting APIs), or a
 * failover pair of them, and one HTTPS server per traffic node, each on 127.0.0.1. Reports name
 * recordings on the traffic node where the session ran, by public name; only that node serves
 * them. Tests map the public names to `traffic[k].address` (the bridge's `atlas.hostMap`) and
 * trust `caPem` (every certificate).
 */
export class AtlasCluster {
  readonly traffic: SimTrafficNode[];
  readonly pair: FailoverPair | undefined;
  readonly #single: { node: ApplianceSimulator; reporting: ReportingSimulator } | undefined;

  constructor(options: AtlasClusterOptions) {
    const { generator, recordingRedirect, failoverPair, ...simOptions } = options;
    const names = generator.options.trafficNodes ?? [];
    if (names.length === 0) throw new Error('an Atlas cluster needs the generator to name its traffic nodes');
    const now = options.now ?? Date.now;
    let stores: SimTokenStore[];
    if (failoverPair) {
      if (recordingRedirect) throw new Error('recording redirects are simulated for a single primary only');
      const { port: _port, ...pairOptions } = simOptions;
      this.pair = new FailoverPair({ ...pairOptions, sessions: { generator, ...failoverPair } });
      stores = this.pair.nodes.map((n) => n.tokens);
    } else {
      const download = (i: number, origin: string) =>
        `${origin}/session_download/recording?lsid=${generator.lsidOf(i)}`;
      const reporting = new ReportingSimulator({
        generator,
        now,
        recordingElsewhere: (i) =>
          recordingRedirect === 'traffic'
            ? download(i, `https://${names[generator.trafficNodeOf(i) ?? 0]}`)
            : recordingRedirect
              ? download(i, recordingRedirect.origin)
              : undefined,
      });
      this.#single = { reporting, node: new ApplianceSimulator({ ...simOptions, reporting: reporting.handle }) };
      stores = [this.#single.node.tokens];
    }
    const tokens = {
      check: (authorization: string | undefined) =>
        stores.map((s) => s.check(authorization)).find((c) => c.ok) ?? stores[0]!.check(authorization),
    };
    this.traffic = names.map((_, index) => new SimTrafficNode({ index, generator, tokens, now }));
  }

  /** The primary now (with a failover pair, whichever node holds the role). */
  get primary(): ApplianceSimulator {
    return this.pair ? this.pair.primary : this.#single!.node;
  }

  /** The single primary's Reporting API (a failover pair has one per node). */
  get reporting(): ReportingSimulator {
    if (!this.#single) throw new Error('a failover-pair primary has a Reporting API per node');
    return this.#single.reporting;
  }

  /** `trafficPorts`: each traffic node's listening port (0 or absent = any free port; the primary's is `port`). */
  async start(trafficPorts: number[] = []): Promise<void> {
    await (this.pair ? this.pair.start() : this.#single!.node.start());
    await Promise.all(this.traffic.map((t, k) => t.start(trafficPorts[k] ?? 0)));
  }

  /** Every certificate of the cluster, as one PEM bundle for the site's `caFile`. */
  get caPem(): string {
    const primary = this.pair ? this.pair.caPem : this.#single!.node.caPem;
    // One PEM block per line start: OpenSSL (curl, Node's `ca`) cannot read `-----END...-----BEGIN`.
    return [primary, ...this.traffic.map((t) => t.caPem)].map((p) => `${p.trimEnd()}\n`).join('');
  }

  /** `{ publicName: 127.0.0.1:PORT }`: the site's `atlas.hostMap` for this cluster. */
  get hostMap(): Record<string, string> {
    return Object.fromEntries(this.traffic.map((t) => [t.publicName, t.address]));
  }

  async stop(): Promise<void> {
    await Promise.all([this.pair ? this.pair.stop() : this.#single!.node.stop(), ...this.traffic.map((t) => t.stop())]);
  }
}
