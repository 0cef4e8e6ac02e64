/**
 * The audit row's state machine: the outcomes a checkout's row (ecm_bridge.credential_event)
 * passes through and the only moves between them, in one table. Every store applies a patch that
 * changes the outcome only to a row in one of the allowed from-states (the SQL adapters generate
 * `outcome IN (...)` from this table into the UPDATE's WHERE; the memory store asks
 * `mayMove`), and refuses it otherwise: the row stays as it was. So no code path, replica or
 * late retry can rewrite a final state into another (an expired checkout into checked in, a
 * failed delivery into checked out).
 */
export const CREDENTIAL_OUTCOMES = ['requested', 'checked_out', 'checked_in', 'denied', 'failed', 'expired'] as const;

export type CredentialOutcome = (typeof CREDENTIAL_OUTCOMES)[number];

/**
 * To-state -> the states it may be reached from. A row begins as `requested` (the intent, before
 * the vault is asked) or, refused before its intent, as `denied`/`failed`; nothing moves back to
 * `requested`.
 */
export const AUDIT_TRANSITIONS: { readonly [To in CredentialOutcome]: readonly CredentialOutcome[] } = {
  requested: [],
  // The confirm: the vault answered and the lease knows its request (a joined answer too, whose
  // row is closed at once with check-in reason `joined`).
  checked_out: ['requested'],
  // The vault confirmed the check-in: a release, a shutdown, the recovery of a stopped replica.
  checked_in: ['checked_out'],
  // The sweep checked in a lease past its expiry.
  expired: ['checked_out'],
  // The vault refused the checkout, or the credential id was spent meanwhile.
  denied: ['requested'],
  // The vault or the confirm failed; the answer never reached the console (also found after the
  // lease was checked in); the sweep resolved an intent (also one already failed, or one whose
  // vault request waited for approval).
  failed: ['requested', 'checked_out', 'checked_in', 'denied', 'failed'],
};

/** Whether a row in state `from` may take outcome `to`. */
export function mayMove(from: CredentialOutcome, to: CredentialOutcome): boolean {
  return AUDIT_TRANSITIONS[to].includes(from);
}

/** The outcome of a checkout refused or failed: `denied` for a permission error, else `failed`. */
export function refusedOutcome(kind: string): 'denied' | 'failed' {
  return kind === 'permission' ? 'denied' : 'failed';
}
