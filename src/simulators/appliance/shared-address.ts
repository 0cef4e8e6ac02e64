import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * The shared IP (or DNS name, or NAT rule) of a failover pair: one address that reaches whichever
 * node holds it, so a client sees roles and appliances change behind one URL. A TCP forwarder on
 * 127.0.0.1; moving it to another node ends every connection through it, as a moved address does.
 */
export class SharedAddress {
  readonly #pipes = new Set<Socket>();
  #server: Server | undefined;

  constructor(private targetPort: number) {}

  async start(port = 0): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#pipes.add(s);
        s.on('close', () => this.#pipes.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  get port(): number {
    const a = this.#server?.address();
    if (!a || typeof a === 'string') throw new Error('shared address is not listening');
    return a.port;
  }

  /** The address now reaches the node listening on `port`; connections to the old holder end. */
  moveTo(port: number): void {
    if (port === this.targetPort) return;
    this.targetPort = port;
    for (const s of this.#pipes) s.destroy();
  }

  async stop(): Promise<void> {
    for (const s of this.#pipes) s.destroy();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
    this.#server = undefined;
  }
}
