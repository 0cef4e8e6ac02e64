import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { BridgeService } from '../../../src/app/bridge-service.js';
import { loadConfigFile } from '../../../src/app/config-schema.js';
import { createRuntime, type Runtime } from '../../../src/app/runtime.js';
import { UNITS } from '../../../src/app/units/unit-keys.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { quarantineEntry } from '../../../src/reporting/rejected-session.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ConsoleDriver } from '../../../src/simulators/appliance/console-driver.js';
import { ReportingSimulator } from '../../../src/simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';
import { loadAccountsFile } from '../../../src/simulators/appliance/sim-accounts.js';
import type { ConsoleRequestBody } from '../../../src/simulators/appliance/sim-console-routes.js';
import { demoSeedPath, PasswordSafeSimulator } from '../../../src/simulators/passwordsafe/index.js';
import { loadSeedFile } from '../../../src/simulators/passwordsafe/seed.js';
import { CONSOLE_DEADLINE_MS } from '../../helpers/deadlines.js';

// The status page driven in Debian's Chromium (never a downloaded browser). One browser and one
// bridge (demo configuration, simulators, embedded store) for the whole file.
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`status page browser tests skipped: ${CHROMIUM} is absent (apt-get install chromium)`);

const TOKEN = 'status-page-test-token-0123456789';
// A bound for a hang, not an expected duration (a loaded machine renders slowly).
const WAIT = { timeout: 120_000 };
/** The page's refresh period (status.js REFRESH_MS). */
const REFRESH_MS = 3_000;
const repoFile = (rel: string) => resolve(import.meta.dirname, '../../..', rel);

const jane: Omit<ConsoleRequestBody, 'op' | 'params'> = {
  user: { id: 42, username: 'CORP\\jdoe', securityProvider: { id: 3, name: 'Corp AD', kind: 'ldap' } },
  endpoint: { hostname: 'web01', fqdn: 'web01.corp.example.com', ip: '10.0.4.17:3389' },
  jumpItem: { id: 9001, name: 'web01 RDP', type: 'rdp', networkId: 'CORP', jumpGroup: { id: 7, name: 'Web servers' } },
  session: { lsid: 'status-page-lsid-1' },
};

describe.skipIf(!haveChromium)('status page in headless Chromium', () => {
  let dir: string;
  let vault: PasswordSafeSimulator;
  let appliance: ApplianceSimulator;
  let driver: ConsoleDriver;
  let rt: Runtime;
  let service: BridgeService;
  let browser: BrowserContext;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    // (hook timeout below: PGlite's start alone takes 50 s when the shared machine is busy)
    dir = mkdtempSync(join(tmpdir(), 'ecm-status-page-'));
    const log = silentLogger();
    vault = await PasswordSafeSimulator.start({ seed: loadSeedFile(demoSeedPath) });
    const now = Date.now();
    const reports = new ReportingSimulator({
      generator: new SessionGenerator({
        seed: 3,
        count: 12,
        hostName: '127.0.0.1',
        product: 'pra',
        firstStartMs: now - 3 * 3_600_000,
        spacingMs: 15 * 60_000,
      }),
      now: Date.now,
    });
    appliance = new ApplianceSimulator({
      accounts: loadAccountsFile(repoFile('config/demo/appliance-accounts.yaml')),
      hostname: '127.0.0.1',
      reporting: reports.handle,
      log,
      maxRequestMs: CONSOLE_DEADLINE_MS,
    });
    await appliance.start();
    writeFileSync(join(dir, 'appliance-ca.pem'), appliance.caPem);
    writeFileSync(join(dir, 'passwordsafe-ca.pem'), vault.caPem);
    const doc = parseDocument(readFileSync(repoFile('config/demo.yaml'), 'utf8'));
    doc.setIn(['sites', 0, 'url'], appliance.url);
    doc.setIn(['sites', 0, 'caFile'], join(dir, 'appliance-ca.pem'));
    doc.setIn(['vault', 'url'], vault.url);
    doc.setIn(['vault', 'caFile'], join(dir, 'passwordsafe-ca.pem'));
    doc.setIn(['store', 'dataDir'], 'memory://');
    doc.setIn(['http', 'port'], 0);
    doc.setIn(['http', 'auth'], { token: 'monitoring-token-0123456789', statusToken: TOKEN });
    writeFileSync(join(dir, 'bridge.yaml'), doc.toString());

    rt = createRuntime(log);
    service = new BridgeService(loadConfigFile(join(dir, 'bridge.yaml')), rt, 2_000);
    await service.start();
    driver = new ConsoleDriver(appliance.url, appliance.caPem);
    base = `http://127.0.0.1:${service.unit(UNITS.ops).address.port}`;
    await service.unit(UNITS.reporting).runNow(); // one pull, so the chart has a point

    // A fresh profile directory per run (a persistent context is how Playwright takes --user-data-dir).
    browser = await chromium.launchPersistentContext(join(dir, 'chromium'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 390, height: 844 }, // a phone
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    // The page's timers run on Playwright's clock: `afterRefresh` moves it on by one refresh
    // period, so a test sees the next refresh at once instead of waiting up to 3 s for it.
    await page.clock.install();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await driver?.close();
    await appliance?.stop();
    await vault?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const site = () => page.locator('#site-demo');
  /** `read` after the page's next refresh (its interval fired now); for expect.poll, which repeats it. */
  const afterRefresh =
    <T>(read: () => Promise<T>) =>
    async (): Promise<T> => {
      await page.clock.fastForward(REFRESH_MS);
      return read();
    };

  it('is refused without the token and loads with it', async () => {
    const bare = await request(`${base}/status/api/overview`);
    expect(bare.statusCode).toBe(401);
    await bare.body.dump();

    await page.goto(`${base}/status`);
    await page.getByLabel(/Ops token/).fill('not-the-token');
    await page.getByRole('button', { name: 'Show status' }).click();
    await expect.poll(() => page.locator('#auth-error').textContent(), WAIT).toContain('refused');
    expect(await page.locator('#data').isHidden()).toBe(true);

    await page.getByLabel(/Ops token/).fill(TOKEN);
    await page.keyboard.press('Enter'); // the form works from the keyboard
    await site().waitFor();
    await expect.poll(() => site().getAttribute('data-state'), WAIT).toBe('connected');
    expect(await site().textContent()).toMatch(/ECM group position(active|standby)/);
    const health = await page.locator('#health').textContent();
    expect(health).toContain('vault');
    expect(health).toContain('store');
    expect(await page.locator('#reporting-demo svg').count()).toBe(1);
    // The token went only into a header: not into the URL nor into storage.
    expect(page.url()).not.toContain(TOKEN);
    const stored = await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })');
    expect(stored).toBe('{}{}');
    expect(await browser.cookies()).toEqual([]);
  });

  it('shows a lease appear on a console get and disappear on release', async () => {
    const listed = await driver.list(jane);
    const first = (listed.result as { credentials: { id: string }[] }).credentials[0];
    const got = await driver.get(jane, first!.id);
    const leaseId = (got.result as { credential: { leaseId: string } }).credential.leaseId;
    await expect
      .poll(
        afterRefresh(() => page.locator('#lease-count').textContent()),
        WAIT,
      )
      .toBe('1 checked out');
    const leases = await page.locator('#leases').textContent();
    expect(leases).toContain('web01 / Administrator');
    expect(leases).toContain('status-page-lsid-1');

    await driver.release(jane, leaseId);
    await expect
      .poll(
        afterRefresh(() => page.locator('#lease-count').textContent()),
        WAIT,
      )
      .toBe('0 checked out');
    expect(await page.locator('#events').textContent()).toContain('checked_in');
    // list, get and release were answered over the channel this hour
    await expect
      .poll(
        afterRefresh(() => site().textContent()),
        WAIT,
      )
      .toContain('Requests, last hour3 answered, 0 refused');
  });

  it('lists a quarantined session with its raw lsid and reason, as text', async () => {
    await expect
      .poll(
        afterRefresh(() => page.locator('#quarantine').textContent()),
        WAIT,
      )
      .toContain('No session was refused.');
    const store = service.unit(UNITS.store).store;
    const raw = '<img src=x onerror=alert(1)>';
    await store.reports.quarantine(
      [
        quarantineEntry('demo', 'end_time 2026-01-01T00:00:00Z..2026-01-01T06:00:00Z', {
          lsid: raw,
          reason: 'lsid_invalid',
          detail: 'session_summary #3: lsid attribute is not a session id',
        }),
      ],
      new Date(rt.clock.now()),
    );
    await expect
      .poll(
        afterRefresh(() => page.locator('#quarantine-count').textContent()),
        WAIT,
      )
      .toMatch(/^1 session\(s\) refused by validation/);
    const shown = await page.locator('#quarantine').textContent();
    expect(shown).toContain(raw); // shown as text, never as markup
    expect(shown).toContain('lsid_invalid');
    expect(await page.locator('#quarantine img').count()).toBe(0);
  });

  it('lists a recording owed with its node, attempts and last error', async () => {
    await expect
      .poll(
        afterRefresh(() => page.locator('#missing-recordings').textContent()),
        WAIT,
      )
      .toContain('Every recording was fetched.');
    const store = service.unit(UNITS.store).store;
    const now = rt.clock.now();
    await store.reports.noteMissingRecordings([
      {
        site: 'demo',
        recording: 'c0ffee.shell-2',
        lsid: 'c0ffee',
        instance: 2,
        url: 'https://tn1.example/shell_recording?lsid=c0ffee&instance=2',
        node: 'tn1.example',
        attempts: 3,
        lastCode: 'appliance.unavailable',
        lastError: 'tn1.example via 10.0.0.9:443 did not answer',
        firstFailedAt: new Date(now - 3_600_000),
        lastTriedAt: new Date(now),
        nextTryAt: new Date(now + 1_200_000),
      },
    ]);
    await expect
      .poll(
        afterRefresh(() => page.locator('#missing-count').textContent()),
        WAIT,
      )
      .toMatch(/^1 recording file\(s\) not fetched yet/);
    const shown = await page.locator('#missing-recordings').textContent();
    expect(shown).toContain('c0ffee.shell-2');
    expect(shown).toContain('tn1.example');
    expect(shown).toContain('[appliance.unavailable] tn1.example via 10.0.0.9:443 did not answer');
    expect(shown).not.toContain('shell_recording?'); // the download URL is not shown
  });

  it('renders Test Settings for a denied user and for a user with offers, and a draft with a mistake', async () => {
    await page.getByLabel(/Console user/).fill('CORP\\ext-bob');
    await page.getByLabel(/Endpoint/).fill('web01');
    await page.getByRole('button', { name: 'Test settings' }).click();
    await expect.poll(() => page.locator('#ts-verdict').textContent(), WAIT).toContain('REFUSED');
    expect(await page.locator('#ts-result pre').textContent()).toContain('denied by rule contractors-denied');

    await page.getByLabel(/Console user/).fill('CORP\\jdoe');
    await page.getByRole('button', { name: 'Test settings' }).click();
    await expect.poll(() => page.locator('#ts-verdict').textContent(), WAIT).toContain('Result: OK');
    expect(await page.locator('#ts-offered').textContent()).toContain('Administrator (web01)');
    // The README's picture: STATUS_PAGE_SCREENSHOT=docs/status-page.png npx vitest run <this file>
    const shot = process.env.STATUS_PAGE_SCREENSHOT;
    if (shot) {
      await page.setViewportSize({ width: 1100, height: 900 });
      await page.screenshot({ path: resolve(repoFile('.'), shot), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
    }

    await page.getByLabel(/Draft configuration/).fill('userMappng:\n  default: deny\n');
    await page.getByRole('button', { name: 'Test settings' }).click();
    await expect.poll(() => page.locator('#ts-verdict').textContent(), WAIT).toContain('draft is invalid');
    expect(await page.locator('#ts-result').textContent()).toContain(
      'draft:1:1: userMappng: unknown key "userMappng" (did you mean "userMapping"?)',
    );
  });

  it('shows the site go from connected to disconnected when the appliance drops the channel', async () => {
    expect(await site().getAttribute('data-state')).toBe('connected');
    await driver.control('role', { role: 'backup' }); // drops the channel (1001) and refuses new ones
    await expect
      .poll(
        afterRefresh(() => site().getAttribute('data-state')),
        WAIT,
      )
      .not.toBe('connected');
    expect(await site().textContent()).toContain('disconnected');
  });

  it('asks for no token when the bridge has none (loopback, no http.auth.token)', async () => {
    const doc = parseDocument(readFileSync(join(dir, 'bridge.yaml'), 'utf8'));
    doc.deleteIn(['http', 'auth']);
    writeFileSync(join(dir, 'no-token.yaml'), doc.toString());
    const open = new BridgeService(loadConfigFile(join(dir, 'no-token.yaml')), createRuntime(silentLogger()), 2_000);
    await open.start();
    const tab = await browser.newPage();
    try {
      await tab.goto(`http://127.0.0.1:${open.unit(UNITS.ops).address.port}/status`);
      await tab.locator('#data').waitFor(WAIT);
      expect(await tab.locator('#health').textContent()).toContain('vault');
      expect(await tab.locator('#token-section').isHidden()).toBe(true);
      expect(await tab.locator('#forget').isHidden()).toBe(true);
    } finally {
      await tab.close();
      await open.stop();
    }
  });
});
