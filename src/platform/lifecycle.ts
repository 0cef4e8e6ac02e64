/** Something the service starts and must stop cleanly (channel, worker, server, pool). */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /** Stop taking work, finish in-flight work within `graceMs`, release what is held. */
  stop(graceMs: number): Promise<void>;
}
