// The blacklist: addresses and whole domains (`*@example.com`) that are never sent to and never
// (re)subscribed. Matching is one indexed IN query over the exact addresses and their domain patterns.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The subset of `emails` (lower-cased) that the account's blacklist matches. */
export async function findBlacklisted(db: Db, accountId: string, emails: string[]): Promise<Set<string>> {
  const lower = [...new Set(emails.map((e) => e.toLowerCase()))];
  const patterns = new Set<string>();
  for (const e of lower) {
    patterns.add(e);
    patterns.add(`*@${e.slice(e.lastIndexOf('@') + 1)}`);
  }
  const hits = new Set<string>();
  const all = [...patterns];
  for (let i = 0; i < all.length; i += 500) {
    const rows = await db.selectFrom('blacklist').select('pattern').where('account_id', '=', accountId).where('pattern', 'in', all.slice(i, i + 500)).execute();
    for (const r of rows) hits.add(r.pattern);
  }
  if (hits.size === 0) return new Set();
  return new Set(lower.filter((e) => hits.has(e) || hits.has(`*@${e.slice(e.lastIndexOf('@') + 1)}`)));
}
