// The life of an account: Active, Suspended (may not send, may be reactivated) and Terminated
// (final: its keys stop working and nothing brings it back). Only sub-accounts change status
// through the API; the top-level account is always Active.
export const ACCOUNT_STATUSES = ['Active', 'Suspended', 'Terminated'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/** Reads a status the way clients write it (`active`, `SUSPENDED`…); null when it is none of them. */
export function parseAccountStatus(value: string): AccountStatus | null {
  return ACCOUNT_STATUSES.find((s) => s.toLowerCase() === value.trim().toLowerCase()) ?? null;
}

/** Stored statuses are always one of ours; anything else is treated as the strictest. */
export function asAccountStatus(value: string): AccountStatus {
  return (ACCOUNT_STATUSES as readonly string[]).includes(value) ? (value as AccountStatus) : 'Terminated';
}

export function maySend(status: AccountStatus): boolean {
  return status === 'Active';
}

/** Why a status change is refused, or null when it is allowed. Terminated is final. */
export function statusChangeProblem(from: AccountStatus, to: AccountStatus): string | null {
  if (from === to) return null;
  if (from === 'Terminated') return 'a terminated sub-account stays terminated';
  return null;
}
