// First start: one account and an all-permissions key; the signing secret for tokens.
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.ts';
import { newId } from '../domain/ids.ts';
import { countAccounts, insertAccount } from '../store/accounts.ts';
import { getSetting, initSetting } from '../store/settings.ts';
import { createApiKey } from './api-keys.ts';

export async function ensureSecret(db: Context['db'], configured: string | null): Promise<string> {
  if (configured) return configured;
  return initSetting(db, 'secret', randomBytes(32).toString('hex'));
}

/** Creates the first account and key when the database has no account yet; returns the new key. */
export async function bootstrapFirstAccount(ctx: Context): Promise<{ accountId: string; key: string | null }> {
  if ((await countAccounts(ctx.db)) > 0) {
    return { accountId: (await getSetting(ctx.db, 'first_account_id')) ?? '', key: null };
  }
  const accountId = newId();
  await insertAccount(ctx.db, {
    id: accountId,
    name: 'Default account',
    parent_id: null,
    status: 'Active',
    created_at: ctx.clock(),
  });
  await initSetting(ctx.db, 'first_account_id', accountId);
  const { key } = await createApiKey(ctx, { accountId, name: 'First key (created at first start)' });
  return { accountId, key };
}
