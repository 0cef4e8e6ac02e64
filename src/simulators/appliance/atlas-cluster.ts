import { ApplianceSimulator, type ApplianceSimulatorOptions } from './appliance-simulator.js';
import { ReportingSimulator } from './reporting/reporting-simulator.js';
import type { SessionGenerator } from './reporting/session-generator.js';
import { SimTrafficNode } from './sim-traffic-node.js';

export interface AtlasClusterOptions extends Omit<ApplianceSimulatorOptions, 'reporting' | 'tls'> {
  /** The sessions; its `trafficNodes` are the cluster's traffic nodes (public names), one server each. */
  generator: SessionGenerator;
  /**
   * What the primary answers a `*SessionRecording` request with (it holds no recordings):
   * `traffic` redirects to the node the session ran on (its public name), `{ origin }` redirects
   * to that origin (a host outside the cluster); absent, an `<error>`.
   */
  recordingRedirect?: 'traffic' | { origin: string };
}

/**
 * A simulated Atlas cluster: a primary (OAuth, ECM channel, Command and Reporting APIs) and one
 * HTTPS server per traffic node, each on 127.0.0.1. Reports name recordings on the traffic node
 * where the session ran, by public name; only that node serves them. Tests map the public names
 * to `traffic[k].address` (the bridge's `atlas.hostMap`) and trust `caPem` (every certificate).
 */
export class AtlasCluster {
  readonly primary: ApplianceSimulator;
  readonly traffic: SimTrafficNode[];
  readonly reporting: ReportingSimulator;

  constructor(options: AtlasClusterOptions) {
    const { generator, recordingRedirect, ...simOptions } = options;
    const names = generator.options.trafficNodes ?? [];
    if (names.length === 0) throw new Error('an Atlas cluster needs the generator to name its traffic nodes');
    const now = options.now ?? Date.now;
    const download = (i: number, origin: string) => `${origin}/session_download/recording?lsid=${generator.lsidOf(i)}`;
    this.reporting = new ReportingSimulator({
      generator,
      now,
      recordingElsewhere: (i) =>
        recordingRedirect === 'traffic'
          ? download(i, `https://${names[generator.trafficNodeOf(i) ?? 0]}`)
          : recordingRedirect
            ? download(i, recordingRedirect.origin)
            : undefined,
    });
    this.primary = new ApplianceSimulator({ ...simOptions, reporting: this.reporting.handle });
    this.traffic = names.map((_, index) => new SimTrafficNode({ index, generator, tokens: this.primary.tokens, now }));
  }

  /** `trafficPorts`: each traffic node's listening port (0 or absent = any free port; the primary's is `port`). */
  async start(trafficPorts: number[] = []): Promise<void> {
    await this.primary.start();
    await Promise.all(this.traffic.map((t, k) => t.start(trafficPorts[k] ?? 0)));
  }

  /** Every certificate of the cluster, as one PEM bundle for the site's `caFile`. */
  get caPem(): string {
    // One PEM block per line start: OpenSSL (curl, Node's `ca`) cannot read `-----END...-----BEGIN`.
    return [this.primary.caPem, ...this.traffic.map((t) => t.caPem)].map((p) => `${p.trimEnd()}\n`).join('');
  }

  /** `{ publicName: 127.0.0.1:PORT }`: the site's `atlas.hostMap` for this cluster. */
  get hostMap(): Record<string, string> {
    return Object.fromEntries(this.traffic.map((t) => [t.publicName, t.address]));
  }

  async stop(): Promise<void> {
    await Promise.all([this.primary.stop(), ...this.traffic.map((t) => t.stop())]);
  }
}
