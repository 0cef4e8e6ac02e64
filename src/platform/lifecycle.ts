export type StopReason = 'reload' | 'shutdown';

/** Something the service starts and must stop cleanly (channel, worker, server, pool). */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /**
   * Stop taking work, finish in-flight work within `graceMs`, release what is held. `reason` is
   * `reload` when a configuration reload replaces the component (its successor takes over what
   * it held, e.g. leases) and `shutdown` when the process or the component goes away for good.
   */
  stop(graceMs: number, reason?: StopReason): Promise<void>;
}
