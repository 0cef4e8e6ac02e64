import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface ConnectProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `host:port` of every tunnel opened. */
  tunnels: string[];
  /** CONNECT requests refused with 407. */
  refused: number;
  close(): Promise<void>;
}

/**
 * A small HTTP CONNECT proxy on 127.0.0.1 (the kind that sits in a DMZ): it opens a TCP tunnel
 * to the requested host:port and pipes bytes both ways; it never sees inside the TLS. With
 * `auth`, a CONNECT without the right `Proxy-Authorization: Basic` gets 407; with `forbid`, every
 * CONNECT gets 403 (a proxy whose policy does not allow the destination).
 */
export async function startConnectProxy(
  auth?: { username: string; password: string },
  forbid = false,
): Promise<ConnectProxy> {
  const sockets = new Set<Duplex>();
  const state = { tunnels: [] as string[], refused: 0 };
  const expected = auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` : undefined;
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (forbid) {
      state.refused++;
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (expected && req.headers['proxy-authorization'] !== expected) {
      state.refused++;
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="dmz"\r\nContent-Length: 0\r\n\r\n',
      );
      return;
    }
    const target = req.url ?? '';
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const upstream: Socket = connect(port, host.replace(/^\[|\]$/g, ''), () => {
      state.tunnels.push(target);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => (sockets.delete(upstream), client.destroy()));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get tunnels() {
      return state.tunnels;
    },
    get refused() {
      return state.refused;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
