import { readFileSync } from 'node:fs';
import { Client } from 'undici';
import { BENCH_API_KEY } from '../../src/simulators/passwordsafe/estate-generator.js';

/**
 * The floor a Password Safe checkout can reach: a bare client of the public API v3 that shares
 * nothing with the bridge (none of its adapter, agent, pool, retries or session pool), signed in
 * once, with one keep-alive connection per worker. The credential-path benchmark's baseline: a
 * baseline built on the bridge's own adapter would hide any bottleneck inside it.
 */
export class DirectPsClient {
  readonly #clients: Client[];
  readonly #prefix: string;
  #cookie = '';

  private constructor(url: string, caFile: string, workers: number) {
    const u = new URL(url);
    const ca = readFileSync(caFile, 'utf8');
    this.#prefix = u.pathname.replace(/\/+$/, '');
    this.#clients = Array.from({ length: workers }, () => new Client(u.origin, { connect: { ca } }));
  }

  /** Signs `runas` in once; every worker then uses that session, each on its own connection. */
  static async start(url: string, caFile: string, workers: number, runas: string): Promise<DirectPsClient> {
    const c = new DirectPsClient(url, caFile, workers);
    const res = await c.#call(0, 'POST', 'Auth/SignAppin', undefined, `PS-Auth key=${BENCH_API_KEY}; runas=${runas};`);
    const setCookie = res.headers['set-cookie'];
    c.#cookie = String(Array.isArray(setCookie) ? setCookie[0] : setCookie).split(';')[0]!;
    return c;
  }

  /** `POST Requests` then `GET Credentials/{id}`: the request id and the password. */
  async checkout(w: number, systemId: number, accountId: number): Promise<{ requestId: string; password: string }> {
    const body = { SystemID: systemId, AccountID: accountId, DurationMinutes: 30, Reason: 'bench', AccessType: 'View' };
    const requestId = String((await this.#call(w, 'POST', 'Requests', body)).body);
    const password = String((await this.#call(w, 'GET', `Credentials/${requestId}?type=password`)).body);
    return { requestId, password };
  }

  async checkin(w: number, requestId: string): Promise<void> {
    await this.#call(w, 'PUT', `Requests/${requestId}/checkin`, { Reason: 'bench' });
  }

  close(): Promise<void[]> {
    return Promise.all(this.#clients.map((c) => c.close()));
  }

  async #call(
    w: number,
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    json?: unknown,
    authorization?: string,
  ): Promise<{ headers: Record<string, string | string[] | undefined>; body: unknown }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (json !== undefined) headers['content-type'] = 'application/json';
    if (authorization) headers.authorization = authorization;
    if (this.#cookie) headers.cookie = this.#cookie;
    const res = await this.#clients[w]!.request({
      path: `${this.#prefix}/${path}`,
      method,
      headers,
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: HTTP ${res.statusCode}`);
    return { headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }
}
