import { Counter, Gauge, Histogram, metric, type Registry } from '../platform/metrics.js';

/** Why a lease was checked in (label of ecm_bridge_broker_checkins_total). */
export const CHECKIN_REASONS = ['release', 'expiry', 'shutdown', 'recovery', 'abandoned'] as const;
export type CheckinReason = (typeof CHECKIN_REASONS)[number];

/** The console operations the broker answers (label `op`). */
export const BROKER_OPS = ['credentials.list', 'credentials.get', 'credentials.release', 'jump.search'] as const;
export type BrokerOp = (typeof BROKER_OPS)[number];

const CHECKOUT_OUTCOMES = ['checked_out', 'denied', 'failed'] as const;

/**
 * The broker's metrics. Labels are op names, outcomes and error codes only, never user input.
 * Built through `metric()` so a reloaded broker reuses the series of the one it replaces.
 */
export class BrokerMetrics {
  readonly requests: Counter<'op' | 'outcome'>;
  readonly duration: Histogram<'op'>;
  readonly checkouts: Counter<'outcome'>;
  readonly checkins: Counter<'reason'>;
  readonly activeLeases: Gauge;

  constructor(registry: Registry) {
    this.requests = metric(
      registry,
      'ecm_bridge_broker_requests_total',
      () =>
        new Counter({
          name: 'ecm_bridge_broker_requests_total',
          help: 'Console requests answered by the broker, by op and outcome (ok or the error code)',
          labelNames: ['op', 'outcome'] as const,
          registers: [registry],
        }),
    );
    this.duration = metric(
      registry,
      'ecm_bridge_broker_request_duration_seconds',
      () =>
        new Histogram({
          name: 'ecm_bridge_broker_request_duration_seconds',
          help: 'Time to answer a console request, by op',
          labelNames: ['op'] as const,
          buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [registry],
        }),
    );
    this.checkouts = metric(
      registry,
      'ecm_bridge_broker_checkouts_total',
      () =>
        new Counter({
          name: 'ecm_bridge_broker_checkouts_total',
          help: 'Credential checkouts, by outcome (checked_out, denied, failed)',
          labelNames: ['outcome'] as const,
          registers: [registry],
        }),
    );
    this.checkins = metric(
      registry,
      'ecm_bridge_broker_checkins_total',
      () =>
        new Counter({
          name: 'ecm_bridge_broker_checkins_total',
          help: 'Leases checked in, by reason (release, expiry, shutdown, recovery, abandoned)',
          labelNames: ['reason'] as const,
          registers: [registry],
        }),
    );
    this.activeLeases = metric(
      registry,
      'ecm_bridge_broker_active_leases',
      () =>
        new Gauge({
          name: 'ecm_bridge_broker_active_leases',
          help: 'Leases held by this instance and not yet checked in',
          registers: [registry],
        }),
    );
    // Every series a dashboard plots exists from the start (Prometheus: a missing series is not a zero).
    for (const op of BROKER_OPS) {
      this.requests.inc({ op, outcome: 'ok' }, 0);
      this.duration.zero({ op });
    }
    for (const outcome of CHECKOUT_OUTCOMES) this.checkouts.inc({ outcome }, 0);
    for (const reason of CHECKIN_REASONS) this.checkins.inc({ reason }, 0);
  }
}
