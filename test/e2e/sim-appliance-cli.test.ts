import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startBuiltCli } from '../helpers/cli.js';

describe('ecm-bridge sim appliance', () => {
  it('serves OAuth and a Reporting API with the requested number of sessions, and stops on SIGTERM', async () => {
    const ca = join(mkdtempSync(join(tmpdir(), 'sim-cli-')), 'ca.pem');
    const child = startBuiltCli([
      'sim',
      'appliance',
      '--accounts',
      'config/demo/appliance-accounts.yaml',
      '--port',
      '0',
      '--reporting-sessions',
      '25',
      '--ca-out',
      ca,
    ]);
    try {
      const url = (await child.waitFor(/listening on https:\/\/127\.0\.0\.1:\d+/)).replace(/^listening on /, '');
      const agent = new Agent({ connect: { ca: readFileSync(ca, 'utf8') } });
      const basic = Buffer.from('demo-reporting-client:demo-reporting-secret-0123456789').toString('base64');
      const tok = await request(`${url}/oauth2/token`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      expect(tok.statusCode).toBe(200);
      const { access_token: token } = (await tok.body.json()) as { access_token: string };
      const since = Math.floor(Date.now() / 1000) - 31 * 86_400;
      const res = await request(
        `${url}/api/reporting?generate_report=AccessSessionListing&start_time=${since}&duration=0`,
        { dispatcher: agent, headers: { authorization: `Bearer ${token}`, connection: 'close' } },
      );
      expect(res.statusCode).toBe(200);
      expect(((await res.body.text()).match(/<session_summary /g) ?? []).length).toBe(25);
      await agent.close();
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('--atlas starts a primary and two traffic nodes and prints the atlas settings that reach them', async () => {
    const ca = join(mkdtempSync(join(tmpdir(), 'sim-cli-')), 'ca.pem');
    const child = startBuiltCli([
      'sim',
      'appliance',
      '--accounts',
      'config/demo/appliance-accounts.yaml',
      '--atlas',
      '--reporting-sessions',
      '4',
      '--ca-out',
      ca,
    ]);
    try {
      const line = await child.waitFor(/site config: atlas: \{.*\}/);
      const atlas = JSON.parse(line.replace(/^.*site config: atlas: /, '')) as {
        trafficNodes: string[];
        hostMap: Record<string, string>;
      };
      expect(atlas.trafficNodes).toEqual(['tn1.access.example.com', 'tn2.access.example.com']);
      for (const name of atlas.trafficNodes) {
        // Reached by its mapped address, verified against its public name with the printed CA file.
        const agent = new Agent({ connect: { ca: readFileSync(ca, 'utf8'), servername: name } });
        const res = await request(`https://${atlas.hostMap[name]}/check_health`, { dispatcher: agent });
        expect(res.statusCode).toBe(200);
        await res.body.dump();
        await agent.close();
      }
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('--failover: the pair swaps, fails over and goes both-backup on command (the runbook rehearsal)', async () => {
    const ca = join(mkdtempSync(join(tmpdir(), 'sim-cli-')), 'ca.pem');
    const child = startBuiltCli([
      'sim',
      'appliance',
      '--accounts',
      'config/demo/appliance-accounts.yaml',
      '--failover',
      '--reporting-sessions',
      '4',
      '--ca-out',
      ca,
    ]);
    try {
      await child.waitFor(/failover control: curl/);
      const urls = [...child.output().matchAll(/role (?:primary|backup)\) listening on (https:\/\/[\d.:]+)/g)].map(
        (m) => m[1] as string,
      );
      expect(urls).toHaveLength(2);
      const shared = /shared address .* listening on (https:\/\/[\d.:]+)/.exec(child.output())?.[1] as string;
      const agent = new Agent({ connect: { ca: readFileSync(ca, 'utf8') } });
      /** The role behind the shared address: always the primary's, whichever node holds it. */
      const sharedRole = async () => {
        const res = await request(`${shared}/sim/status`, { dispatcher: agent, headers: { connection: 'close' } });
        return ((await res.body.json()) as { role: string }).role;
      };
      const roles = async () =>
        Promise.all(
          urls.map(async (u) => {
            const res = await request(`${u}/sim/status`, { dispatcher: agent });
            return ((await res.body.json()) as { role: string }).role;
          }),
        );
      const control = async (action: string) => {
        const res = await request(`${urls[1]}/sim/control/failover`, {
          method: 'POST',
          dispatcher: agent,
          body: JSON.stringify({ action }),
        });
        expect(res.statusCode).toBe(200);
        await res.body.dump();
      };
      expect(await roles()).toEqual(['primary', 'backup']);
      expect(await sharedRole()).toBe('primary');
      await control('swap');
      expect(await roles()).toEqual(['backup', 'primary']);
      expect(await sharedRole()).toBe('primary');
      await control('both-backup');
      expect(await roles()).toEqual(['backup', 'backup']);
      await control('swap');
      expect(await roles()).toEqual(['primary', 'backup']);
      await control('failover');
      expect(await roles()).toEqual(['backup', 'primary']);
      const bad = await request(`${urls[0]}/sim/control/failover`, {
        method: 'POST',
        dispatcher: agent,
        body: JSON.stringify({ action: 'explode' }),
      });
      expect(bad.statusCode).toBe(400);
      expect(await bad.body.text()).toContain(
        'action must be one of swap, failover, resume-sync, failed-sync, both-backup',
      );
      await agent.close();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
