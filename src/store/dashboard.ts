// Dashboard users, sessions and one-time sign-in links. Tokens arrive here already hashed.
import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { Database, DashboardSessionsTable, DashboardSignInLinksTable, DashboardUsersTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type DashboardUserRow = Selectable<DashboardUsersTable>;
export type DashboardSessionRow = Selectable<DashboardSessionsTable>;

export async function insertDashboardUser(db: Db, user: Insertable<DashboardUsersTable>): Promise<void> {
  await db.insertInto('dashboard_users').values(user).execute();
}

export async function findDashboardUserByEmail(db: Db, email: string): Promise<DashboardUserRow | undefined> {
  return db.selectFrom('dashboard_users').selectAll().where('email', '=', email).executeTakeFirst();
}

export async function findDashboardUser(db: Db, id: string): Promise<DashboardUserRow | undefined> {
  return db.selectFrom('dashboard_users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertDashboardSession(db: Db, session: Insertable<DashboardSessionsTable>): Promise<void> {
  await db.insertInto('dashboard_sessions').values(session).execute();
}

export async function findDashboardSession(db: Db, tokenHash: string): Promise<DashboardSessionRow | undefined> {
  const r = await db
    .selectFrom('dashboard_sessions')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  return r && { ...r, created_at: Number(r.created_at), expires_at: Number(r.expires_at) };
}

export async function deleteDashboardSession(db: Db, tokenHash: string): Promise<void> {
  await db.deleteFrom('dashboard_sessions').where('token_hash', '=', tokenHash).execute();
}

/** Every session of the same principal (the key, or the user) as this one: "sign out everywhere". */
export async function deleteSessionsOfPrincipal(db: Db, session: DashboardSessionRow): Promise<number> {
  let q = db.deleteFrom('dashboard_sessions').where('account_id', '=', session.account_id);
  q =
    session.user_id !== null
      ? q.where('user_id', '=', session.user_id)
      : q.where('api_key_id', '=', session.api_key_id);
  const result = await q.executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function deleteExpiredSessions(db: Db, now: number): Promise<void> {
  await db.deleteFrom('dashboard_sessions').where('expires_at', '<', now).execute();
}

export async function insertSignInLink(db: Db, link: Insertable<DashboardSignInLinksTable>): Promise<void> {
  await db.insertInto('dashboard_sign_in_links').values(link).execute();
}

/** Takes the link out of the table (it works once) and returns it when it existed. */
export async function takeSignInLink(
  db: Db,
  tokenHash: string,
): Promise<Selectable<DashboardSignInLinksTable> | undefined> {
  const found = await db
    .selectFrom('dashboard_sign_in_links')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
  if (!found) return undefined;
  const removed = await db.deleteFrom('dashboard_sign_in_links').where('token_hash', '=', tokenHash).executeTakeFirst();
  // Two tabs opening the link at once: only the one that removed it signs in.
  if (Number(removed.numDeletedRows) !== 1) return undefined;
  return { ...found, expires_at: Number(found.expires_at), created_at: Number(found.created_at) };
}
