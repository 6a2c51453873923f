// Authorized sandbox recipients: addresses an account may reach for real from the sandbox once
// their owner consented (/v1/sandbox/recipients, /p/consent/{token}). Every query is scoped to the
// account, except the consent link's lookup, whose nonce is the capability.
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, SandboxRecipientsTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type SandboxRecipientRow = Selectable<SandboxRecipientsTable>;

const CHUNK = 500;

/** Inserts the recipient; false when the account already lists the address. */
export async function insertSandboxRecipient(db: Db, row: SandboxRecipientRow): Promise<boolean> {
  const inserted = await db
    .insertInto('sandbox_recipients')
    .values(row)
    .onConflict((oc) => oc.columns(['account_id', 'email']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function listSandboxRecipients(
  db: Db,
  accountId: string,
  offset: number,
  limit: number,
): Promise<{ count: number; rows: SandboxRecipientRow[] }> {
  const [total, rows] = await Promise.all([
    db
      .selectFrom('sandbox_recipients')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account_id', '=', accountId)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('sandbox_recipients')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .offset(offset)
      .limit(limit)
      .execute(),
  ]);
  return { count: Number(total.n), rows };
}

export function findSandboxRecipient(db: Db, accountId: string, id: string): Promise<SandboxRecipientRow | undefined> {
  return db
    .selectFrom('sandbox_recipients')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export function findSandboxRecipientByEmail(
  db: Db,
  accountId: string,
  email: string,
): Promise<SandboxRecipientRow | undefined> {
  return db
    .selectFrom('sandbox_recipients')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('email', '=', email)
    .executeTakeFirst();
}

export async function deleteSandboxRecipient(db: Db, accountId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('sandbox_recipients')
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The recipient a consent link names (by its random nonce, which only that link carries). */
export function findByConsentNonce(db: Db, nonce: string): Promise<SandboxRecipientRow | undefined> {
  return db.selectFrom('sandbox_recipients').selectAll().where('consent_nonce', '=', nonce).executeTakeFirst();
}

/** Marks the recipient verified (once: a second consent keeps the first time); false when it is gone. */
export async function markConsented(db: Db, id: string, at: number): Promise<boolean> {
  const result = await db
    .updateTable('sandbox_recipients')
    .set({ status: 'verified', consented_at: at })
    .where('id', '=', id)
    .where('status', '=', 'unverified')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** The subset of `emails` (lower-cased) that are consented sandbox recipients of the account. */
export async function verifiedSandboxRecipients(db: Db, accountId: string, emails: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < emails.length; i += CHUNK) {
    const rows = await db
      .selectFrom('sandbox_recipients')
      .select('email')
      .where('account_id', '=', accountId)
      .where('status', '=', 'verified')
      .where('email', 'in', emails.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) out.add(r.email);
  }
  return out;
}

/** A fresh consent link for a recipient still unverified (the old link stops working). */
export async function renewConsentLink(db: Db, id: string, nonce: string, expiresAt: number): Promise<void> {
  await db
    .updateTable('sandbox_recipients')
    .set({ consent_nonce: nonce, consent_expires_at: expiresAt })
    .where('id', '=', id)
    .where('status', '=', 'unverified')
    .execute();
}
