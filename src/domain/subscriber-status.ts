// Subscriber statuses (Posthorn's published values) and which changes need an advanced permission.
export const STATUS = { READY: 1, NOT_READY: 2, ARCHIVED: 3 } as const;
export const ADDITION = { OPT_IN_PENDING: 1, UNSUBSCRIBED: 2, MANUAL: 3, SPAM_COMPLAINT: 4, HARD_BOUNCE: 5 } as const;

export const STATUS_TABLE = [
  { status: 1, meaning: 'ready to receive', statusAddition: [null] },
  { status: 2, meaning: 'not ready', statusAddition: [1] },
  { status: 3, meaning: 'archived', statusAddition: [2, 3, 4, 5] },
] as const;

export function isValidStatusPair(status: number, addition: number | null): boolean {
  const row = STATUS_TABLE.find((r) => r.status === status);
  return !!row && (row.statusAddition as readonly (number | null)[]).includes(addition);
}

export type StatusPermission =
  | 'subscribers_reactivate_unsubscribed'
  | 'subscribers_reactivate_manual'
  | 'subscribers_reactivate_spam'
  | 'subscribers_archive';

/**
 * The advanced permission a status change needs, or null when any key with the Subscribers
 * permission may make it. Leaving "archived" needs the reactivate permission of the reason it was
 * archived for; archiving a ready subscriber needs "archive". Hard bounces are reactivated with the
 * "reactivate manual" permission (the spec names no permission of their own).
 */
export function permissionForStatusChange(
  from: { status: number; addition: number | null },
  to: { status: number; addition: number | null },
): StatusPermission | null {
  if (from.status === to.status && from.addition === to.addition) return null;
  if (from.status === STATUS.ARCHIVED && to.status !== STATUS.ARCHIVED) {
    if (from.addition === ADDITION.UNSUBSCRIBED) return 'subscribers_reactivate_unsubscribed';
    if (from.addition === ADDITION.SPAM_COMPLAINT) return 'subscribers_reactivate_spam';
    return 'subscribers_reactivate_manual';
  }
  if (from.status === STATUS.READY && to.status === STATUS.ARCHIVED) return 'subscribers_archive';
  return null;
}
