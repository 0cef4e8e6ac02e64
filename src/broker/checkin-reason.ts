import type { CheckinReason } from './broker-metrics.js';
import { fillTemplate } from './credential-service.js';
import type { Lease } from './lease-store-port.js';

/**
 * The reason Password Safe records for a check-in: who ended the checkout and why. A console's
 * release uses the configured template (`vault.checkinReason`, placeholders {user} {vaultUser}
 * {lsid}); every other check-in is the bridge's own doing and says so, naming the session the
 * checkout was for, so the vault's audit never blames the console user for an expiry, a shutdown
 * or the recovery of a dead replica.
 */
export function checkinReasonText(template: string, lease: Lease, reason: CheckinReason, instanceId: string): string {
  const values = { user: lease.consoleUser, vaultUser: lease.vaultUser, lsid: lease.lsid ?? '-' };
  const forWhom = `checked out for ${values.user} session ${values.lsid}`;
  switch (reason) {
    case 'release':
      return fillTemplate(template, values);
    case 'expiry':
      return `ecm-bridge: lease expired (${forWhom})`;
    case 'shutdown':
      return `ecm-bridge: bridge instance ${instanceId} shutting down (${forWhom})`;
    case 'recovery':
      return `ecm-bridge: bridge instance ${lease.owner} presumed dead, recovered by ${instanceId} (${forWhom})`;
    case 'abandoned':
      return `ecm-bridge: checkout could not be delivered or recorded (${forWhom})`;
  }
}
