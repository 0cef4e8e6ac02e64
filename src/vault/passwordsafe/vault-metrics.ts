import { Counter, Gauge, Histogram, metric, type Registry } from '../../platform/metrics.js';

/** The adapter's metrics. Labels are op names, outcomes and status codes only: never users or ids. */
export interface VaultMetrics {
  /** Calls to Password Safe by op and outcome (`ok`, `http_NNN`, `retried`, `unavailable`, or the code of a TLS/abort failure). */
  requests: Counter<'op' | 'outcome'>;
  /** Latency of each attempt, by op. */
  duration: Histogram<'op'>;
  /** Signed-in sessions in the pool. */
  sessions: Gauge;
  /** Discovery cache lookups by result (`hit`, `miss`, `stale`: served while a refresh runs). */
  cache: Counter<'result'>;
  /** Background refreshes of discovery lists that failed (the stale list stays in use). */
  cacheRefreshFailures: Counter;
}

/** The calls every deployment makes: their `ok` series exist from start, before the first call. */
const EVERYDAY_OPS = ['sign_in', 'list_accounts', 'create_request', 'get_credential', 'checkin', 'sign_out'];
const CACHE_RESULTS = ['hit', 'miss', 'stale'];

export function vaultMetrics(registry: Registry): VaultMetrics {
  const m = createVaultMetrics(registry);
  // A dashboard's rate() needs a series before its first increment (docs/operations.md).
  for (const op of EVERYDAY_OPS) m.requests.inc({ op, outcome: 'ok' }, 0);
  for (const result of CACHE_RESULTS) m.cache.inc({ result }, 0);
  return m;
}

function createVaultMetrics(registry: Registry): VaultMetrics {
  return {
    requests: metric(
      registry,
      'ecm_bridge_vault_requests_total',
      () =>
        new Counter({
          name: 'ecm_bridge_vault_requests_total',
          help: 'Password Safe API calls by operation and outcome',
          labelNames: ['op', 'outcome'] as const,
          registers: [registry],
        }),
    ),
    duration: metric(
      registry,
      'ecm_bridge_vault_request_duration_seconds',
      () =>
        new Histogram({
          name: 'ecm_bridge_vault_request_duration_seconds',
          help: 'Latency of Password Safe API call attempts',
          labelNames: ['op'] as const,
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [registry],
        }),
    ),
    sessions: metric(
      registry,
      'ecm_bridge_vault_sessions',
      () =>
        new Gauge({
          name: 'ecm_bridge_vault_sessions',
          help: 'Signed-in Password Safe sessions held in the pool',
          registers: [registry],
        }),
    ),
    cache: metric(
      registry,
      'ecm_bridge_vault_discovery_cache_total',
      () =>
        new Counter({
          name: 'ecm_bridge_vault_discovery_cache_total',
          help: 'Discovery cache lookups (account and system lists; never secrets)',
          labelNames: ['result'] as const,
          registers: [registry],
        }),
    ),
    cacheRefreshFailures: metric(
      registry,
      'ecm_bridge_vault_discovery_refresh_failures_total',
      () =>
        new Counter({
          name: 'ecm_bridge_vault_discovery_refresh_failures_total',
          help: 'Background refreshes of discovery lists that failed; the cached list is served until its staleness bound',
          registers: [registry],
        }),
    ),
  };
}
