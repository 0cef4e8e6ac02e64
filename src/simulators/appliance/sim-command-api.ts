import type { SimAccount } from './sim-accounts.js';

export type FailoverRole = 'none' | 'primary' | 'backup';

export interface HealthFacts {
  applianceId: string;
  hostname: string;
  version: string;
  healthy: boolean;
  failoverRole: FailoverRole;
  /** Unix ms of the last failover data sync; absent without failover. */
  lastSyncAt?: number;
  /** `last_data_sync_status` of that sync (default `Success`). */
  lastSyncStatus?: string;
}

const NS = 'https://www.beyondtrust.com/namespaces/API/command';

export const xmlEscape = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function xmlError(message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<error xmlns="${NS}">${xmlEscape(message)}</error>\n`;
}

/** The Command API's `check_health` document, with the elements appliance-api.md lists. */
export function checkHealthXml(f: HealthFacts): string {
  const sync =
    f.failoverRole === 'none' || f.lastSyncAt === undefined
      ? ''
      : `  <last_data_sync_time ts="${Math.floor(f.lastSyncAt / 1000)}">${new Date(f.lastSyncAt).toISOString()}</last_data_sync_time>\n  <last_data_sync_status>${xmlEscape(f.lastSyncStatus ?? 'Success')}</last_data_sync_status>\n`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<appliance_health xmlns="${NS}">`,
    `  <appliance id="${xmlEscape(f.applianceId)}">${xmlEscape(f.hostname)}</appliance>`,
    `  <version>${xmlEscape(f.version)}</version>`,
    `  <success>${f.healthy ? 1 : 0}</success>`,
    ...(f.healthy ? [] : ['  <error_message>appliance is unhealthy</error_message>']),
    `  <failover_role>${f.failoverRole}</failover_role>`,
    '  <enabled_shared_ips><ip>127.0.0.1</ip></enabled_shared_ips>',
    sync + '</appliance_health>',
    '',
  ].join('\n');
}

/** `get_api_info`: the calling account's permissions as name/value entries. */
export function apiInfoXml(account: SimAccount, product: 'pra' | 'rs', nowMs: number): string {
  const perms: [string, string][] = [
    ['perm_command', account.permissions.command],
    [product === 'rs' ? 'perm_reporting_support' : 'perm_reporting', account.permissions.reporting ? '1' : '0'],
    ['perm_ecm', account.permissions.ecm ? '1' : '0'],
    ['perm_backup', '0'],
  ];
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<api_info xmlns="${NS}">`,
    '  <api_version>1.25.1</api_version>',
    `  <timestamp>${Math.floor(nowMs / 1000)}</timestamp>`,
    '  <permissions>',
    ...perms.map(([n, v]) => `    <permission><name>${n}</name><value>${v}</value></permission>`),
    '  </permissions>',
    '</api_info>',
    '',
  ].join('\n');
}
