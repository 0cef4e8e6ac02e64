import { connect, createServer, type Socket } from 'node:net';

export interface TcpRelay {
  /** The relay's own port on 127.0.0.1: clients connect here instead of to the target. */
  port: number;
  /** Connections piped to the target so far. */
  readonly piped: number;
  /**
   * The target "goes down": every open connection is reset and every new one is reset on accept,
   * as a database that stopped or a network that dropped does to its clients.
   */
  cut(): void;
  /** The target is reachable again: new connections are piped. */
  heal(): void;
  close(): Promise<void>;
}

/**
 * A TCP relay on 127.0.0.1 to `host:port`, pipes bytes both ways, which a test can cut and heal:
 * a database outage under the test's control, for processes that cannot be told to use a fake.
 */
export async function startTcpRelay(host: string, port: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const state = { cut: false, piped: 0 };
  // A socket still connecting cannot be reset: destroying it is the same to its peer.
  const reset = (s: Socket) => (s.connecting || s.destroyed ? s.destroy() : s.resetAndDestroy());
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server = createServer((client) => {
    track(client);
    if (state.cut) return void reset(client);
    const upstream = connect(port, host);
    track(upstream);
    upstream.on('connect', () => {
      state.piped++;
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get piped() {
      return state.piped;
    },
    cut() {
      state.cut = true;
      for (const s of sockets) reset(s);
    },
    heal() {
      state.cut = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
