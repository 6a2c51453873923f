// The marketing side of a suppression: the account's live subscriber with a suppressed address is
// archived (status 3) with the suppression's reason. One already archived keeps its reason.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { STATUS } from '../domain/subscriber-status.ts';

type Db = Kysely<Database> | Transaction<Database>;

export interface ArchivedSubscriber {
  id: number;
  email: string;
  /** Status and addition before the change. */
  status: number;
  statusAddition: number | null;
}

/** Archives the live, not yet archived subscriber of `email` with `addition`; returns it as it was, or null. */
export async function archiveSubscriberByEmail(
  db: Db,
  accountId: string,
  email: string,
  addition: number,
  at: number,
): Promise<ArchivedSubscriber | null> {
  const current = await db
    .selectFrom('subscribers')
    .select(['id', 'email', 'status', 'status_addition'])
    .where('account_id', '=', accountId)
    .where('email', '=', email.toLowerCase())
    .where('deleted_at', 'is', null)
    .where('status', '!=', STATUS.ARCHIVED)
    .executeTakeFirst();
  if (!current) return null;
  // The status condition again: a concurrent change (PostgreSQL) that archived it first wins.
  const changed = await db
    .updateTable('subscribers')
    .set({ status: STATUS.ARCHIVED, status_addition: addition, updated_at: at })
    .where('account_id', '=', accountId)
    .where('id', '=', current.id)
    .where('status', '!=', STATUS.ARCHIVED)
    .executeTakeFirst();
  if (Number(changed.numUpdatedRows) === 0) return null;
  return {
    id: Number(current.id),
    email: current.email!,
    status: current.status,
    statusAddition: current.status_addition ?? null,
  };
}
