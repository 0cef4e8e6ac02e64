import { toServiceError, type ErrorCode } from './errors.js';
import type { Health } from './health.js';

/**
 * Readiness of the process, per component. Each component registers a probe; /readyz and the
 * status page report every component with its reason when not ready.
 */
export interface ComponentStatus {
  ready: boolean;
  /** Why not ready (or a short state when ready), safe to expose on /readyz. */
  reason?: string;
  /**
   * What failed, in the one health shape (platform/health.ts): /readyz shows its code as `code`
   * and, when there is no `reason`, its message as the reason. Never serialised itself.
   */
  failure?: Health;
  details?: Record<string, unknown>;
  /** Not ready, but part of its service still works (the reason says which): the process is degraded, not down. */
  degraded?: boolean;
}

export type ReadinessProbe = () => ComponentStatus | Promise<ComponentStatus>;

/** A component as /readyz shows it: `critical` ones decide `ready`; the others are reported only. */
export interface ReportedStatus extends Omit<ComponentStatus, 'failure'> {
  critical: boolean;
  /** The error code of the failure, when the component named one. */
  code?: ErrorCode;
}

export interface ReadinessReport {
  /** Every critical component is ready. */
  ready: boolean;
  /** Present when not ready and every critical component that is not ready still serves part of its work. */
  degraded?: true;
  components: Record<string, ReportedStatus>;
}

export interface RegisterOptions {
  /**
   * Whether the component decides readiness (default true). The reporting worker is not critical:
   * a load balancer that took a replica out of rotation because BGSessions lags would stop the
   * credential path, which does not depend on reporting.
   */
  critical?: boolean;
}

export class Readiness {
  readonly #probes = new Map<string, { probe: ReadinessProbe; critical: boolean }>();

  register(component: string, probe: ReadinessProbe, options: RegisterOptions = {}): void {
    this.#probes.set(component, { probe, critical: options.critical ?? true });
  }

  unregister(component: string): void {
    this.#probes.delete(component);
  }

  async report(): Promise<ReadinessReport> {
    const components: Record<string, ReportedStatus> = {};
    for (const [name, { probe, critical }] of this.#probes) {
      try {
        components[name] = reported(await probe(), critical);
      } catch (e) {
        const failure = toServiceError(e, `readiness.${name}`);
        components[name] = reported(
          { ready: false, reason: `probe failed: ${(e as Error).message}`, failure },
          critical,
        );
      }
    }
    const failing = Object.values(components).filter((c) => c.critical && !c.ready);
    const degraded = failing.length > 0 && failing.every((c) => c.degraded);
    return { ready: failing.length === 0, ...(degraded && { degraded }), components };
  }
}

/** The one rendering of a probe's answer for /readyz (and the metrics and status page that read it). */
function reported({ failure, ...status }: ComponentStatus, critical: boolean): ReportedStatus {
  if (!failure) return { ...status, critical };
  return { ...status, reason: status.reason ?? failure.message, code: failure.code, critical };
}
