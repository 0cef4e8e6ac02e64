/**
 * The frozen replica of scripts/bench/channel-liveness.ts, in a process of its own so that
 * SIGSTOP freezes it alone: `bridge` is SiteLink (its hello asks for a 2 s heartbeat), `bare` a
 * plain ws ECM that answers pings and requests but asks for nothing (the appliance's own
 * heartbeat applies, as before issue 29 point 4). Prints `ready` once welcomed.
 *
 *   npx tsx scripts/bench/liveness-child.ts bridge|bare URL CA_FILE CLIENT_ID CLIENT_SECRET
 */
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { siteSchema } from '../../src/appliance/site-config.js';
import { SiteLink } from '../../src/appliance/channel/site-link.js';
import { systemClock } from '../../src/platform/clock.js';
import { withSecretEnv } from '../../src/platform/config/secret-ref.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { Readiness } from '../../src/platform/readiness.js';

const [mode, url, caFile, clientId, clientSecret] = process.argv.slice(2) as [string, string, string, string, string];
const result = { credentials: [] };

if (mode === 'bridge') {
  const site = withSecretEnv({ env: { S: clientSecret }, allowLiterals: false, readFile: () => '', baseDir: '.' }, () =>
    siteSchema.parse({ name: 'bench', url, caFile, ecm: { clientId, clientSecret: 'env:S' } }),
  );
  const link = new SiteLink(site, {
    log: silentLogger(),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    readiness: new Readiness(),
    clock: systemClock,
    instanceId: 'frozen',
  });
  await link.start({ handle: async () => result as never });
  const timer = setInterval(() => {
    if (link.status().state !== 'connected') return;
    clearInterval(timer);
    console.log('ready');
  }, 20);
} else {
  const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
  const ca = readFileSync(caFile, 'utf8');
  const token = await mint(url, ca, basic);
  const ws = new WebSocket(`${url.replace('https', 'wss')}/api/ecm/v1`, {
    ca,
    headers: { authorization: `Bearer ${token}` },
  });
  ws.on('open', () =>
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: 1,
        ecm: { name: 'bare', version: '0', instanceId: 'frozen', host: 'bench' },
        capabilities: ['credentials.list'],
      }),
    ),
  );
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as { type: string; id: string; t?: number };
    if (f.type === 'welcome') console.log('ready');
    else if (f.type === 'request') ws.send(JSON.stringify({ type: 'response', id: f.id, result }));
    else if (f.type === 'ping') ws.send(JSON.stringify({ type: 'pong', t: f.t }));
  });
}

async function mint(origin: string, ca: string, basic: string): Promise<string> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(
      `${origin}/oauth2/token`,
      {
        method: 'POST',
        ca,
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve((JSON.parse(body) as { access_token: string }).access_token));
      },
    );
    req.on('error', reject);
    req.end('grant_type=client_credentials');
  });
}
