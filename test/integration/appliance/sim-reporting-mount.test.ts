import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ECM_ACCOUNT, REPORTING_ACCOUNT } from './harness.js';

describe('simulator: the Reporting API mount point', () => {
  let sim: ApplianceSimulator;
  let agent: Agent;
  const seen: { method?: string; body: string }[] = [];
  beforeAll(async () => {
    sim = new ApplianceSimulator({
      accounts: [ECM_ACCOUNT, REPORTING_ACCOUNT],
      reporting: (req, res, body) => {
        seen.push({ method: req.method, body: body.toString() });
        res.writeHead(200, { 'content-type': 'application/xml' }).end('<session_list/>');
      },
    });
    await sim.start();
    agent = new Agent({ connect: { ca: [sim.caPem] } });
  });
  afterAll(async () => {
    await agent.close();
    await sim.stop();
  });

  const tokenOf = (a: typeof ECM_ACCOUNT) => sim.tokens.mint(a.clientId, a.clientSecret as string)?.token as string;
  const post = async (token?: string) => {
    const res = await request(`${sim.url}/api/reporting`, {
      method: 'POST',
      dispatcher: agent,
      body: 'generate_report=AccessSessionListing&duration=0',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    return { status: res.statusCode, text: await res.body.text() };
  };

  it('answers 401 without a valid token and 403 <error> without perm_reporting, never calling the handler', async () => {
    expect(await post()).toEqual({ status: 401, text: '{"message":"Access token is invalid"}' });
    const denied = await post(tokenOf(ECM_ACCOUNT));
    expect(denied.status).toBe(403);
    expect(denied.text).toContain(
      '<error xmlns="https://www.beyondtrust.com/namespaces/API/command">This API account does not have permission to use the reporting API</error>',
    );
    expect(seen).toHaveLength(0);
  });

  it('calls the mounted handler with the raw body for an account with perm_reporting', async () => {
    expect(await post(tokenOf(REPORTING_ACCOUNT))).toEqual({ status: 200, text: '<session_list/>' });
    expect(seen).toEqual([{ method: 'POST', body: 'generate_report=AccessSessionListing&duration=0' }]);
  });

  it('a backup node refuses reporting with 503', async () => {
    sim.setRole('backup');
    try {
      expect((await post(tokenOf(REPORTING_ACCOUNT))).status).toBe(503);
    } finally {
      sim.setRole('none');
    }
  });
});
