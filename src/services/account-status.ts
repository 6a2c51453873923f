// The sending rule of account statuses: only an Active account sends. A suspended (or terminated)
// account's new transmissions, mailing sends and trigger sends are refused; what it had queued
// before is still delivered.
import type { Context } from '../context.ts';
import { ServiceError, notFound } from './errors.ts';
import { asAccountStatus, maySend, type AccountStatus } from '../domain/account-status.ts';
import { findAccount } from '../store/accounts.ts';

export function ensureMaySend(status: AccountStatus): void {
  if (!maySend(status))
    throw new ServiceError(
      'account_suspended',
      `this account is ${status.toLowerCase()}: it cannot send until its parent account makes it Active again`,
    );
}

/** The same rule for a use case that knows only the account's id (reads its status). */
export async function ensureAccountMaySend(ctx: Context, accountId: string): Promise<void> {
  const account = await findAccount(ctx.db, accountId);
  if (!account) throw notFound('account');
  ensureMaySend(asAccountStatus(account.status));
}
