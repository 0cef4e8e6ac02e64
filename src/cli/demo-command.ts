import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { ConsoleRequestBody } from '../simulators/appliance/sim-console-routes.js';
import { loadConfigFile } from '../app/config-schema.js';
import { createLogger } from '../platform/logger.js';
import { packagePath } from '../platform/package-path.js';
import { BridgeService } from '../app/bridge-service.js';
import { ApplianceSimulator } from '../simulators/appliance/appliance-simulator.js';
import { ConsoleDriver } from '../simulators/appliance/console-driver.js';
import { ReportingSimulator } from '../simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../simulators/appliance/reporting/session-generator.js';
import { demoAccountsPath, loadAccountsFile } from '../simulators/appliance/sim-accounts.js';
import { demoSeedPath, PasswordSafeSimulator } from '../simulators/passwordsafe/index.js';
import { loadSeedFile } from '../simulators/passwordsafe/seed.js';
import { createRuntime } from '../app/runtime.js';
import { UNITS } from '../app/units/unit-keys.js';
import { EXIT, usage, write, type CliIo, type CommandRun } from './command.js';
import { runUntilSignal } from './serve-service.js';

interface DemoOptions {
  dataDir: string;
  vaultPort: number;
  appliancePort: number;
  httpPort: number;
  sessions: number;
}

/** Writes the demo's effective config: config/demo.yaml with the actual ports and paths. */
function writeDemoConfig(o: DemoOptions, applianceUrl: string, vaultUrl: string): string {
  const doc = parseDocument(readFileSync(packagePath('config/demo.yaml'), 'utf8'));
  doc.setIn(['sites', 0, 'url'], applianceUrl);
  doc.setIn(['sites', 0, 'caFile'], join(o.dataDir, 'appliance-ca.pem'));
  doc.setIn(['vault', 'url'], vaultUrl);
  doc.setIn(['vault', 'caFile'], join(o.dataDir, 'passwordsafe-ca.pem'));
  doc.setIn(['store', 'dataDir'], join(o.dataDir, 'pglite'));
  doc.setIn(['http', 'port'], o.httpPort);
  const file = join(o.dataDir, 'demo.yaml');
  writeFileSync(file, doc.toString());
  return file;
}

async function until(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The console scenario: what an access-console user would do, printed step by step. */
async function consoleTour(driver: ConsoleDriver, io: CliIo): Promise<void> {
  const jane: Omit<ConsoleRequestBody, 'op' | 'params'> = {
    user: {
      id: 42,
      username: 'CORP\\jdoe',
      displayName: 'Jane Doe',
      securityProvider: { id: 3, name: 'Corp AD', kind: 'ldap' },
    },
    endpoint: { hostname: 'web01', fqdn: 'web01.corp.example.com', ip: '10.0.4.17:3389', os: 'Windows Server 2022' },
    jumpItem: {
      id: 9001,
      name: 'web01 RDP',
      type: 'rdp',
      networkId: 'CORP',
      jumpGroup: { id: 7, name: 'Web servers', type: 'shared' },
    },
    session: { lsid: `demo-${randomUUID().slice(0, 8)}`, externalKey: 'CHG-1234' },
  };
  const show = (label: string, value: unknown) => write(io.stdout, `  ${label.padEnd(22)} ${value}`);

  write(io.stdout, '\n1. CORP\\jdoe opens web01 (RDP) in the access console: credentials.list');
  const listed = await driver.list(jane);
  const creds =
    (listed.result as { credentials?: { id: string; displayName: string; source: string; kind: string }[] } | undefined)
      ?.credentials ?? [];
  if (listed.error) show('refused:', `${listed.error.code}: ${listed.error.message}`);
  for (const c of creds) show(`- ${c.displayName}`, `${c.source}, ${c.kind}`);
  const first = creds[0];
  if (!first) throw new Error('demo: the bridge offered no credential for CORP\\jdoe on web01');

  write(io.stdout, `\n2. She picks "${first.displayName}": credentials.get (checkout from Password Safe, injected)`);
  const got = await driver.get(jane, first.id);
  const cred = (
    got.result as
      | {
          credential?: { username: string; password?: string; privateKey?: string; leaseId: string; expiresAt: string };
        }
      | undefined
  )?.credential;
  if (!cred) throw new Error(`demo: checkout failed: ${got.error?.code} ${got.error?.message}`);
  show('username:', cred.username);
  show(
    'secret:',
    `${'•'.repeat(8)} (${(cred.password ?? cred.privateKey ?? '').length} characters, injected, never shown)`,
  );
  show('lease:', `${cred.leaseId} until ${cred.expiresAt}`);

  write(io.stdout, '\n3. The session ends: credentials.release (checked in; Password Safe rotates the password)');
  const released = await driver.release(jane, cred.leaseId);
  show('answer:', JSON.stringify(released.result ?? released.error));

  write(io.stdout, '\n4. A contractor tries the same: the mapping rule refuses with its reason');
  const denied = await driver.list({
    ...jane,
    user: { username: 'CORP\\ext-bob', securityProvider: { name: 'Corp AD' } },
  });
  show('answer:', denied.error ? `${denied.error.code}: ${denied.error.message}` : JSON.stringify(denied.result));

  write(io.stdout, '\n5. External Jump item search for "0" (vault-managed RDP and SSH systems Jane may use)');
  const found = await driver.search(jane, '0', 10);
  for (const item of (
    found.result as { items?: { name: string; method: string; networkId?: string; comment?: string }[] } | undefined
  )?.items ?? []) {
    show(
      `- ${item.name}`,
      `${item.method}, network ${item.networkId ?? '-'}${item.comment ? ` (${item.comment})` : ''}`,
    );
  }
}

export const runDemo: CommandRun = async (args, io, command) => {
  const num = (name: string, fallback: number) => {
    const raw = args.values[name];
    const n = raw === undefined ? fallback : Number(raw);
    return Number.isInteger(n) && n >= 0 ? n : NaN;
  };
  const o: DemoOptions = {
    dataDir: resolve((args.values['data-dir'] as string | undefined) ?? '.data/demo'),
    vaultPort: num('vault-port', 9443),
    appliancePort: num('appliance-port', 9444),
    httpPort: num('http-port', 9410),
    sessions: num('sessions', 500),
  };
  if ([o.vaultPort, o.appliancePort, o.httpPort, o.sessions].some(Number.isNaN)) return usage(io, command.usage);
  mkdirSync(o.dataDir, { recursive: true });
  const log = createLogger({ level: 'warn' }, io.stderr);

  const vault = await PasswordSafeSimulator.start({ seed: loadSeedFile(demoSeedPath), port: o.vaultPort });
  writeFileSync(join(o.dataDir, 'passwordsafe-ca.pem'), vault.caPem);
  const now = Date.now();
  const reports = new ReportingSimulator({
    generator: new SessionGenerator({
      seed: 7,
      count: o.sessions,
      hostName: '127.0.0.1',
      product: 'pra',
      firstStartMs: now - 20 * 3_600_000,
      spacingMs: Math.floor((20 * 3_600_000) / Math.max(o.sessions, 1)),
    }),
    now: Date.now,
  });
  const appliance = new ApplianceSimulator({
    accounts: loadAccountsFile(demoAccountsPath),
    port: o.appliancePort,
    hostname: '127.0.0.1',
    reporting: reports.handle,
    log,
  });
  await appliance.start();
  writeFileSync(join(o.dataDir, 'appliance-ca.pem'), appliance.caPem);
  const configFile = writeDemoConfig(o, appliance.url, vault.url);

  write(io.stdout, 'ecm-bridge demo');
  write(io.stdout, `  Password Safe simulator  ${vault.url}`);
  write(io.stdout, `  appliance simulator      ${appliance.url}  (${o.sessions} generated sessions in the last 20 h)`);
  write(io.stdout, `  bridge config            ${configFile}`);

  const config = loadConfigFile(configFile, { env: io.env });
  const rt = createRuntime(log);
  const service = new BridgeService(config, rt, 5_000);
  const driver = new ConsoleDriver(appliance.url, appliance.caPem);
  const stopAll = async () => {
    await service.stop();
    await driver.close();
    await appliance.stop();
    await vault.stop();
  };
  try {
    await service.start();
    await until(async () => (await rt.readiness.report()).components['site:demo']?.ready === true, 'the ECM channel');
    write(io.stdout, `  ops server               http://127.0.0.1:${service.unit(UNITS.ops).address.port}/readyz`);
    await consoleTour(driver, io);

    write(io.stdout, '\n6. The audit trail (ecm_bridge.credential_event; never the secret)');
    const store = service.unit(UNITS.store).store;
    for (const e of await store.state.listCredentialEvents({ limit: 5 })) {
      write(
        io.stdout,
        `  ${e.outcome.padEnd(12)} lsid ${e.lsid} ${e.consoleUser} -> ${e.vaultUser} ${e.systemName}/${e.accountName} request ${e.vaultRequestId}`,
      );
    }

    write(
      io.stdout,
      '\n7. The reporting worker copies session reports into BGSessions (one pull now; then every minute)',
    );
    const outcome = await service.unit(UNITS.reporting).runNow();
    write(io.stdout, `  run: ${JSON.stringify(outcome)}`);
    for (const [table, rows] of Object.entries(await store.reports.tableCounts()))
      write(io.stdout, `  ${table.padEnd(22)} ${rows} rows`);
  } catch (e) {
    await stopAll();
    throw e;
  }

  if (args.values.once) {
    await stopAll();
    write(io.stdout, '\ndemo finished');
    return EXIT.ok;
  }
  write(
    io.stdout,
    [
      '',
      'The demo keeps running (Ctrl-C stops it). Try, in another terminal:',
      `  npx ecm-bridge test-settings --config ${configFile} --user 'CORP\\jdoe' --endpoint web01`,
      `  npx ecm-bridge sim console --url ${appliance.url} --ca ${join(o.dataDir, 'appliance-ca.pem')} --op credentials.list --user 'CORP\\asmith' --endpoint web01`,
      `  npx ecm-bridge check --config ${configFile}`,
      `  curl -s http://127.0.0.1:${o.httpPort || '<port>'}/metrics | grep ecm_bridge_`,
    ].join('\n'),
  );
  const code = await runUntilSignal(service, configFile, io.env, log);
  await driver.close();
  await appliance.stop();
  await vault.stop();
  return code;
};
