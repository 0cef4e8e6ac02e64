import { ServiceError } from '../platform/errors.js';
import type { LeaderTerm } from '../reporting/report-store-port.js';

/** The refusal of a fenced commit whose term is over: every adapter says it the same way. */
export function leaderLost(term: LeaderTerm): ServiceError {
  return new ServiceError(
    'report.leader_lost',
    `the leadership ${term.name} (term ${term.epoch} of ${term.holder}) was taken by another replica: nothing of this batch was written`,
    { op: 'store.writeSessions', details: { leadership: term.name, epoch: term.epoch } },
  );
}
