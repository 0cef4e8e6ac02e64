/**
 * Readiness of the process, per component. Each component registers a probe; /readyz and
 * `ecm-bridge check` report every component with its reason when not ready.
 */
export interface ComponentStatus {
  ready: boolean;
  /** Why not ready (or a short state when ready), safe to expose on /readyz. */
  reason?: string;
  details?: Record<string, unknown>;
}

export type ReadinessProbe = () => ComponentStatus | Promise<ComponentStatus>;

export class Readiness {
  readonly #probes = new Map<string, ReadinessProbe>();

  register(component: string, probe: ReadinessProbe): void {
    this.#probes.set(component, probe);
  }

  unregister(component: string): void {
    this.#probes.delete(component);
  }

  async report(): Promise<{ ready: boolean; components: Record<string, ComponentStatus> }> {
    const components: Record<string, ComponentStatus> = {};
    for (const [name, probe] of this.#probes) {
      try {
        components[name] = await probe();
      } catch (e) {
        components[name] = { ready: false, reason: `probe failed: ${(e as Error).message}` };
      }
    }
    return { ready: Object.values(components).every((c) => c.ready), components };
  }
}
