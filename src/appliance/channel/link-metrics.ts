import type { Clock } from '../../platform/clock.js';
import { Counter, Gauge, Histogram, metric, type Registry } from '../../platform/metrics.js';
import { RecentCounts } from '../../platform/recent-counts.js';
import { OPS } from '../../protocol/ecm-protocol.js';
import type { LinkState } from './appliance-link.js';

const STATES: LinkState[] = ['idle', 'connecting', 'connected', 'backoff', 'blocked', 'stopped'];
/** The usual ends of a channel (label `reason` of reconnects), present from the start; rarer ones appear when seen. */
const RECONNECT_REASONS = [
  'unavailable',
  'unauthorized',
  'forbidden',
  'tls',
  'going_away',
  'replaced',
  'oauth_refused',
];

/**
 * The ECM channel's metrics, shared by every site link of a registry (labels: site name, op,
 * outcome = `ok` or a wire error code, close/reconnect reason). Never user input or secrets.
 */
export class LinkMetrics {
  readonly #state: Gauge<'site' | 'state'>;
  readonly #role: Gauge<'site'>;
  readonly #reconnects: Counter<'site' | 'reason'>;
  readonly #requests: Counter<'site' | 'op' | 'outcome'>;
  readonly #latency: Histogram<'site' | 'op'>;
  readonly #inflight: Gauge<'site'>;
  readonly #connected: Gauge<'site' | 'node'>;
  readonly #nodes: Set<string>;
  /** Requests of this site's link in the last hour (the status page): `ok` answers vs everything else. */
  readonly lastHour: RecentCounts<'answered' | 'refused'>;

  /** `nodes`: the appliance hosts (host[:port]) the channel may connect to, each a series from the start. */
  constructor(
    registry: Registry,
    private readonly site: string,
    clock: Clock,
    nodes: string[] = [],
  ) {
    this.lastHour = new RecentCounts(clock);
    const registers = [registry];
    this.#state = metric(
      registry,
      'ecm_bridge_channel_state',
      () =>
        new Gauge({
          name: 'ecm_bridge_channel_state',
          help: 'ECM channel state per site (1 for the current state)',
          labelNames: ['site', 'state'],
          registers,
        }),
    );
    this.#role = metric(
      registry,
      'ecm_bridge_channel_active',
      () =>
        new Gauge({
          name: 'ecm_bridge_channel_active',
          help: '1 when this ECM is the active one of its group on the site, 0 when standby or not connected',
          labelNames: ['site'],
          registers,
        }),
    );
    this.#reconnects = metric(
      registry,
      'ecm_bridge_channel_reconnects_total',
      () =>
        new Counter({
          name: 'ecm_bridge_channel_reconnects_total',
          help: 'ECM channel connection attempts after the first, by reason of the previous end',
          labelNames: ['site', 'reason'],
          registers,
        }),
    );
    this.#requests = metric(
      registry,
      'ecm_bridge_channel_requests_total',
      () =>
        new Counter({
          name: 'ecm_bridge_channel_requests_total',
          help: 'Console requests answered, by op and outcome (ok or wire error code)',
          labelNames: ['site', 'op', 'outcome'],
          registers,
        }),
    );
    this.#latency = metric(
      registry,
      'ecm_bridge_channel_request_duration_seconds',
      () =>
        new Histogram({
          name: 'ecm_bridge_channel_request_duration_seconds',
          help: 'Time from request frame to response frame',
          labelNames: ['site', 'op'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers,
        }),
    );
    this.#inflight = metric(
      registry,
      'ecm_bridge_channel_requests_in_flight',
      () =>
        new Gauge({
          name: 'ecm_bridge_channel_requests_in_flight',
          help: 'Console requests being handled or queued',
          labelNames: ['site'],
          registers,
        }),
    );
    this.#connected = metric(
      registry,
      'ecm_bridge_channel_connected',
      () =>
        new Gauge({
          name: 'ecm_bridge_channel_connected',
          help: '1 for the appliance node (host[:port]) the ECM channel is connected to, 0 for the other nodes',
          labelNames: ['site', 'node'],
          registers,
        }),
    );
    this.#nodes = new Set(nodes);
    this.connectedTo(undefined);
    this.#inflight.set({ site }, 0);
    for (const op of OPS) {
      this.#requests.inc({ site, op, outcome: 'ok' }, 0);
      this.#latency.zero({ site, op });
    }
    for (const reason of RECONNECT_REASONS) this.#reconnects.inc({ site, reason }, 0);
  }

  /** The node the channel is connected to now, or undefined when it is not connected. */
  connectedTo(node: string | undefined): void {
    if (node !== undefined) this.#nodes.add(node);
    for (const n of this.#nodes) this.#connected.set({ site: this.site, node: n }, n === node ? 1 : 0);
  }

  state(state: LinkState, role?: 'active' | 'standby'): void {
    for (const s of STATES) this.#state.set({ site: this.site, state: s }, s === state ? 1 : 0);
    this.#role.set({ site: this.site }, state === 'connected' && role === 'active' ? 1 : 0);
  }

  reconnect(reason: string): void {
    this.#reconnects.inc({ site: this.site, reason });
  }

  request(op: string, outcome: string, seconds: number): void {
    this.#requests.inc({ site: this.site, op, outcome });
    this.#latency.observe({ site: this.site, op }, seconds);
    this.lastHour.add(outcome === 'ok' ? 'answered' : 'refused');
  }

  inflight(n: number): void {
    this.#inflight.set({ site: this.site }, n);
  }
}
