import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { openStore } from '../../src/app/open-store.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { ConsoleDriver } from '../../src/simulators/appliance/console-driver.js';
import { ReportingSimulator } from '../../src/simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../../src/simulators/appliance/reporting/session-generator.js';
import { loadAccountsFile } from '../../src/simulators/appliance/sim-accounts.js';
import { demoSeedPath, PasswordSafeSimulator } from '../../src/simulators/passwordsafe/index.js';
import { loadSeedFile, parseSeed } from '../../src/simulators/passwordsafe/seed.js';
import type { MssqlStore } from '../../src/store/mssql/store.js';
import { leaseKey } from '../../src/store/state-rows.js';
import { startBuiltCli, type RunningCli } from '../helpers/cli.js';
import { CONSOLE_DEADLINE_MS } from '../helpers/deadlines.js';
import { createTestDatabase, mssqlUrl, type TestDatabase } from '../helpers/mssql-url.js';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-relay.js';
import { until as waitUntil } from '../helpers/until.js';
import { ConsoleLoad } from './console-load.js';
import { writeReplicaConfig } from './replica-config.js';

/**
 * A cluster of `ecm-bridge serve` processes (the built bundle, as operators run it) for the HA
 * campaign (issue 29, point 10): one appliance simulator (one ECM group: the oldest channel is
 * active), one Password Safe simulator, a reporting simulator, and a database of its own on the
 * MSSQL_URL server reached through a TCP relay the campaign can cut (a database outage).
 */

const ACCOUNTS = join(import.meta.dirname, '../../config/demo/appliance-accounts.yaml');
/** The reporting leadership lapses 6 s after its holder's last renewal. */
const LEADER_LEASE_SECONDS = 6;
const REPORTING_INTERVAL_SECONDS = 5;
/**
 * Accounts added to the demo estate's web01, each offered to the console user: a console holds
 * one lease per vault request (no two share one, as with ConflictOption reuse), so every release
 * checks its request in at the vault and a fault shows on that request.
 */
const EXTRA_ACCOUNTS = 40;
/** Generated sessions: one a second, from 10 s before the start, more than a scenario lasts. */
const SESSIONS = 600;

/** The bound for a hang of one wait; every wait ends on its condition. */
const HANG_MS = 240_000;
export const until = (cond: () => Promise<boolean> | boolean, what: string) => waitUntil(cond, what, HANG_MS, 100);

export type Replica = RunningCli & { instanceId: string; httpPort: number; exited: Promise<string> };

export class HaCluster {
  readonly replicas: Replica[] = [];
  /** Leases a fault may legitimately end: those owned by a replica killed or fenced at that moment. */
  readonly recoverable = new Set<string>();
  readonly load: ConsoleLoad;

  private constructor(
    readonly name: string,
    readonly reports: ReportGate,
    readonly database: TestDatabase,
    readonly db: MssqlStore,
    readonly relay: TcpRelay,
    readonly ps: PasswordSafeSimulator,
    readonly appliance: ApplianceSimulator,
    readonly driver: ConsoleDriver,
    readonly generator: SessionGenerator,
    readonly site: string,
    private readonly dir: string,
    private readonly configFile: string,
    private readonly env: Record<string, string>,
  ) {
    this.load = new ConsoleLoad(driver, site);
  }

  static async start(name: string): Promise<HaCluster> {
    const started = Date.now();
    const database = await createTestDatabase(`ha_${name}`);
    const db = (await openStore(database.config(), {
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
    })) as MssqlStore;
    await db.migrate();
    const target = new URL(mssqlUrl!);
    const relay = await startTcpRelay(target.hostname, Number(target.port || 1433));
    const demo = loadSeedFile(demoSeedPath);
    const seed = parseSeed({
      ...demo,
      accounts: [
        ...demo.accounts,
        ...Array.from({ length: EXTRA_ACCOUNTS }, (_, i) => ({
          id: 1000 + i,
          system: 'web01',
          name: `ha-operator-${i}`,
          password: `Ha-Operator-${i}-2026`,
        })),
      ],
    });
    const ps = await PasswordSafeSimulator.start({ seed });
    const site = `ha-${name}-${process.pid}`;
    const generator = new SessionGenerator({
      seed: started % 1_000_000,
      count: SESSIONS,
      hostName: '127.0.0.1',
      product: 'pra',
      firstStartMs: started - 10_000,
      spacingMs: 1_000,
    });
    const reports = new ReportingSimulator({ generator, now: Date.now });
    const gate = new ReportGate();
    const appliance = new ApplianceSimulator({
      accounts: loadAccountsFile(ACCOUNTS),
      hostname: '127.0.0.1',
      reporting: async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
        await gate.pass();
        await reports.handle(req, res, body);
      },
      maxRequestMs: CONSOLE_DEADLINE_MS,
    });
    await appliance.start();
    const driver = new ConsoleDriver(appliance.url, appliance.caPem);
    const dir = mkdtempSync(join(tmpdir(), `ecm-ha-${name}-`));
    const store = database.config();
    const configFile = writeReplicaConfig({
      dir,
      site,
      appliance,
      ps,
      store: { ...store, server: '127.0.0.1', port: relay.port },
      reporting: { schedule: `*/${REPORTING_INTERVAL_SECONDS} * * * * *`, leaderLeaseSeconds: LEADER_LEASE_SECONDS },
    });
    return new HaCluster(name, gate, database, db, relay, ps, appliance, driver, generator, site, dir, configFile, {
      REPLICA_DB_PASSWORD: store.password.reveal(),
    });
  }

  /** Starts one replica and waits until its ECM channel is up (the youngest: a standby unless alone). */
  async startReplica(): Promise<Replica> {
    const child = startBuiltCli(['serve', '--config', this.configFile], this.env);
    const exited = new Promise<string>((resolve) =>
      child.once('exit', (code, signal) => resolve(String(signal ?? code))),
    );
    const line = await child.waitFor(/"instanceId":"[^"]+","config":[^\n]*"msg":"ecm-bridge started"/);
    const r = Object.assign(child, {
      instanceId: /"instanceId":"([^"]+)"/.exec(line)![1]!,
      httpPort: Number(/"port":(\d+)/.exec(await child.waitFor(/"port":\d+/))![1]),
      exited,
    });
    this.replicas.push(r);
    await until(
      () => this.appliance.hub.connections().some((c) => c.instanceId === r.instanceId),
      `the ECM channel of replica ${r.instanceId}`,
    );
    return r;
  }

  /** Replicas in the order the appliance routes to them (the active one first). */
  bySeniority(): Replica[] {
    return this.appliance.hub
      .connections()
      .map((c) => this.replicas.find((r) => r.instanceId === c.instanceId))
      .filter((r): r is Replica => r !== undefined);
  }

  live(): Replica[] {
    return this.replicas.filter((r) => r.exitCode === null && r.signalCode === null);
  }

  /** SIGKILL; the leases it owned at that moment may be recovered (read after it died: it writes no more). */
  async kill(r: Replica): Promise<void> {
    r.kill('SIGKILL');
    await r.exited;
    for (const l of await this.db.state.listLeases({ owner: r.instanceId })) this.recoverable.add(l.leaseId);
  }

  /** The reporting leadership's holder process id and epoch, if a live lease exists. */
  async leader(): Promise<{ pid: number; epoch: number } | undefined> {
    const rows = await this.db.pool
      .request()
      .query<{ holder: string; epoch: number }>(
        'SELECT holder, epoch FROM ecm_bridge.leader_lease WHERE expires_at > SYSUTCDATETIME()',
      );
    const r = rows.recordset[0];
    return r && { pid: Number(r.holder.split('/')[1]), epoch: Number(r.epoch) };
  }

  async metric(r: Replica, re: RegExp): Promise<number | undefined> {
    const text = await (await request(`http://127.0.0.1:${r.httpPort}/metrics`)).body.text();
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  }

  okRuns(r: Replica): Promise<number> {
    return this.metric(r, /ecm_bridge_reporting_runs_total\{[^}]*outcome="ok"[^}]*\} (\d+)/).then((n) => n ?? 0);
  }

  /** Every live replica has written its heartbeat at or after `at` (a condition on the store, not a sleep). */
  async heardSince(at: number): Promise<boolean> {
    const rows = await this.db.pool
      .request()
      .query<{ instance_id: string; last_seen_at: Date }>('SELECT instance_id, last_seen_at FROM ecm_bridge.instance');
    const seen = new Map(rows.recordset.map((r) => [r.instance_id, r.last_seen_at.getTime()]));
    return this.live().every((r) => (seen.get(r.instanceId) ?? 0) >= at);
  }

  /** Vault requests still open (approved) at Password Safe. */
  openRequests(): number {
    return this.ps.requests().filter((r) => r.status === 'approved').length;
  }

  async auditRows(): Promise<{ lease_key: string | null; outcome: string; checkin_reason: string | null }[]> {
    const rows = await this.db.pool.request().query<{
      lease_key: string | null;
      outcome: string;
      checkin_reason: string | null;
    }>('SELECT lease_key, outcome, checkin_reason FROM ecm_bridge.credential_event');
    return rows.recordset;
  }

  async leaseCount(): Promise<number> {
    const rows = await this.db.pool.request().query<{ n: number }>('SELECT COUNT(*) AS n FROM ecm_bridge.lease');
    return Number(rows.recordset[0]!.n);
  }

  /**
   * The end of every scenario, asserting the campaign's outcomes (throws naming the first that
   * does not hold): the consoles' live credentials are still valid, then every held lease is
   * released; after that no vault request is open, no lease is left, every audit row is final
   * and only leases of killed or fenced replicas were checked in by recovery or a stop; every
   * generated session is stored once; every replica's lag gauge follows the committed cursor.
   */
  async settle(): Promise<SettleReport> {
    await this.load.stop();
    // Live credentials: every lease a console holds that no fault could end is still recorded
    // and its vault request still open.
    const leases = new Map((await this.db.state.listLeases({})).map((l) => [l.leaseId, l.vaultRequestId]));
    const approved = new Set(
      this.ps
        .requests()
        .filter((r) => r.status === 'approved')
        .map((r) => String(r.id)),
    );
    const lost = this.load
      .held()
      .filter((h) => !this.recoverable.has(h.leaseId))
      .filter((h) => !approved.has(leases.get(h.leaseId) ?? ''));
    if (lost.length > 0)
      throw new Error(
        `${lost.length} credential(s) of live sessions ended behind the consoles' backs: ${JSON.stringify(lost.map((l) => l.leaseId.slice(0, 8)))}`,
      );
    await this.load.releaseAll();
    const told = this.load.answers.filter(
      (a) => a.op === 'release' && a.alreadyCheckedIn && !this.recoverable.has(a.leaseId!),
    );
    if (told.length > 0)
      throw new Error(`${told.length} release(s) of live leases answered alreadyCheckedIn: ${JSON.stringify(told)}`);

    await until(
      async () => this.openRequests() === 0 && (await this.leaseCount()) === 0,
      'no vault request open and no lease left',
    ).catch(async (e: Error) => {
      const open = this.ps.requests().filter((r) => r.status === 'approved');
      const left = await this.db.state.listLeases({});
      throw new Error(
        `${e.message}: open requests ${JSON.stringify(open.map((r) => ({ id: r.id, account: r.account.name })))}; leases ${JSON.stringify(left.map((l) => ({ id: l.leaseId.slice(0, 8), owner: l.owner.slice(0, 8), request: l.vaultRequestId, retry: l.checkinRetry })))}`,
      );
    });
    await until(async () => (await this.auditRows()).every((r) => FINAL.includes(r.outcome)), 'every audit row final');
    const keys = new Map([...this.recoverable].map((id) => [leaseKey(id), id]));
    const wrongful = (await this.auditRows()).filter(
      (r) => (r.checkin_reason === 'recovery' || r.checkin_reason === 'shutdown') && !keys.has(r.lease_key ?? ''),
    );
    if (wrongful.length > 0)
      throw new Error(`${wrongful.length} lease(s) of live replicas checked in by recovery or a stop`);

    const stored = await this.sessionsStoredOnce();
    await this.lagTruthful();
    const audit = await this.auditRows();
    return {
      ...stored,
      auditRows: audit.length,
      recovered: audit.filter((r) => r.checkin_reason === 'recovery').length,
    };
  }

  /** Every session the generator started before now is stored, none twice. */
  async sessionsStoredOnce(): Promise<{ sessions: number; duplicates: number }> {
    const cutoff = Date.now();
    const generated = Array.from({ length: SESSIONS }, (_, i) => i)
      .filter((i) => this.generator.startMs(i) <= cutoff)
      .map((i) => this.generator.lsidOf(i));
    const counts = async () => {
      const rows = await this.db.pool
        .request()
        .query<{ lsid: string; n: number }>('SELECT lsid, COUNT(*) AS n FROM dbo.session GROUP BY lsid');
      return new Map(rows.recordset.map((r) => [r.lsid, Number(r.n)]));
    };
    await until(async () => {
      const c = await counts();
      return generated.every((l) => c.has(l));
    }, 'every generated session stored');
    const c = await counts();
    const duplicates = [...c.values()].filter((n) => n > 1).length;
    if (duplicates > 0) throw new Error(`${duplicates} session(s) stored more than once`);
    return { sessions: generated.length, duplicates };
  }

  /**
   * Every live replica's `ecm_bridge_reporting_lag_seconds` is within the documented alert
   * threshold (3 × the interval) of the committed cursor's age: a standby reports the leader's
   * progress, not its own last pull. Waits for it (a replica reads the cursor on its own tick).
   */
  async lagTruthful(): Promise<void> {
    const key = `reporting/${this.site}/AccessSession`;
    const threshold = 3 * REPORTING_INTERVAL_SECONDS;
    await until(async () => {
      const cursor = await this.db.state.getCursor(key);
      if (cursor === undefined) return false;
      const age = (Date.now() - Date.parse(cursor)) / 1000;
      const lags = await Promise.all(
        this.live().map((r) => this.metric(r, /ecm_bridge_reporting_lag_seconds\{[^}]*\} (\d+(?:\.\d+)?)/)),
      );
      return lags.every((lag) => lag !== undefined && lag <= age + threshold);
    }, 'every replica’s lag gauge within the alert threshold of the committed cursor’s age');
  }

  /** Writes every replica's whole output to a file of its own (kept); returns their tails and paths. */
  dump(): string {
    return this.replicas
      .map((r, i) => {
        const file = join(tmpdir(), `ecm-ha-${this.name}-${process.pid}-${i}.log`);
        writeFileSync(file, r.output());
        return `--- replica ${i} (${r.instanceId}), whole output in ${file} ---\n${r.output().slice(-3000)}`;
      })
      .join('\n');
  }

  async close(): Promise<void> {
    this.reports.open();
    await this.load.stop().catch(() => undefined);
    for (const r of this.replicas) {
      r.kill('SIGCONT');
      r.kill('SIGKILL');
    }
    await Promise.all(this.replicas.map((r) => r.exited));
    await this.driver.close();
    await this.appliance.stop();
    await this.ps.stop();
    await this.relay.close();
    await this.db.close();
    await this.database.drop().catch((e: unknown) => console.warn(`[ha] ${String(e)}`));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const FINAL = ['checked_in', 'expired', 'failed', 'denied'];

/** The Reporting API's door: while held, its requests wait (a reporting leader held mid-pull). */
export class ReportGate {
  /** Requests waiting at the closed door. */
  waiting = 0;
  #closed: { opened: Promise<void>; open: () => void } | undefined;

  hold(): void {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    this.#closed = { opened, open };
  }

  open(): void {
    this.#closed?.open();
    this.#closed = undefined;
  }

  async pass(): Promise<void> {
    const closed = this.#closed;
    if (!closed) return;
    this.waiting++;
    await closed.opened;
    this.waiting--;
  }
}

export interface SettleReport {
  sessions: number;
  duplicates: number;
  auditRows: number;
  recovered: number;
}
