import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MssqlConfig } from '../../src/store/mssql/connection.js';

/**
 * Lease and heartbeat settings short enough for a test: an instance silent 10 s is presumed dead.
 * Not shorter: on a loaded 2-core machine a live replica's heartbeat was seen to lag past 5 s,
 * and a survivor then (correctly, by the rule) checked in the live replica's leases.
 */
export const LEASES = { sweepIntervalSeconds: 2, heartbeatSeconds: 1, staleAfterSeconds: 10 };

export interface ReplicaConfigOptions {
  dir: string;
  site: string;
  appliance: { url: string; caPem: string };
  ps: { url: string; caPem: string };
  /** Where the replicas reach the database (the T-SQL engine, or a relay in front of it). */
  store: Pick<MssqlConfig, 'server' | 'port' | 'database' | 'user' | 'encrypt'>;
  /** Extra `reporting:` keys beside the schedule (e.g. leaderLeaseSeconds). */
  reporting: { schedule: string } & Record<string, string | number>;
}

/**
 * The configuration every replica of a test runs with (the demo's credentials, the simulators'
 * CAs, the SQL Server store with its password from `REPLICA_DB_PASSWORD`), written into `dir`.
 * Returns the file's path.
 */
export function writeReplicaConfig(o: ReplicaConfigOptions): string {
  const applianceCa = join(o.dir, 'appliance-ca.pem');
  const vaultCa = join(o.dir, 'passwordsafe-ca.pem');
  writeFileSync(applianceCa, o.appliance.caPem);
  writeFileSync(vaultCa, o.ps.caPem);
  const { schedule, ...reporting } = o.reporting;
  const configFile = join(o.dir, 'bridge.yaml');
  writeFileSync(
    configFile,
    `allowLiteralSecrets: true
sites:
  - name: ${o.site}
    url: ${o.appliance.url}
    product: pra
    caFile: ${applianceCa}
    ecm: { clientId: demo-ecm-client, clientSecret: demo-ecm-secret-0123456789 }
    reporting: { clientId: demo-reporting-client, clientSecret: demo-reporting-secret-0123456789 }
vault:
  kind: passwordsafe
  url: ${o.ps.url}
  caFile: ${vaultCa}
  auth: { method: apikey, apiKey: demo-ps-api-key-0123456789 }
userMapping:
  domains: { CORP: corp.example.com }
  rules:
    - name: corp-to-upn
      match: { domain: CORP }
      transform: { case: lower, domain: to-upn }
broker:
  credentialIdKey: demo-credential-id-key-0123456789abcdef
  leases: ${JSON.stringify(LEASES)}
store:
  kind: mssql
  server: ${o.store.server}
  port: ${o.store.port}
  database: ${o.store.database}
  user: ${o.store.user}
  password: env:REPLICA_DB_PASSWORD
  encrypt: ${o.store.encrypt}
reporting:
  schedule: "${schedule}"
${Object.entries(reporting)
  .map(([k, v]) => `  ${k}: ${v}\n`)
  .join('')}  initialLookbackHours: 1
  overlapMinutes: 0
  batchSize: 50
http: { host: 127.0.0.1, port: 0 }
log: { level: info }
`,
  );
  return configFile;
}
