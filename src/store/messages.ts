// The outbox: one row per recipient. The claim and lease queries are the heart of delivery.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, MessagesTable } from './schema.ts';
import type { SqlDialect } from './migrations.ts';

type Db = Kysely<Database> | Transaction<Database>;

// SQLite allows 32,766 bound parameters per statement; 24 columns × 500 rows stays well under it.
const INSERT_CHUNK = 500;

/** What a new outbox row needs to say; everything else starts empty (queued, no attempt, no lease). */
export interface NewOutboxRow {
  id: string;
  account_id: string;
  recipient: string;
  priority: number;
  now: number;
  transmission_id?: string | null;
  mailing_id?: string | null;
  subscriber_id?: number | null;
  recipient_name?: string | null;
  recipient_type?: string;
  recipient_data?: string | null;
  sandbox?: number;
  /** Defaults to now. */
  next_attempt_at?: number;
}

export function newOutboxRow(m: NewOutboxRow): MessagesTable {
  return {
    id: m.id,
    account_id: m.account_id,
    transmission_id: m.transmission_id ?? null,
    mailing_id: m.mailing_id ?? null,
    ...(m.subscriber_id !== undefined ? { subscriber_id: m.subscriber_id } : {}),
    recipient: m.recipient,
    recipient_name: m.recipient_name ?? null,
    recipient_type: m.recipient_type ?? 'to',
    recipient_data: m.recipient_data ?? null,
    status: 'queued',
    priority: m.priority,
    attempts: 0,
    next_attempt_at: m.next_attempt_at ?? m.now,
    lease_owner: null,
    lease_expires_at: null,
    last_response: null,
    bounce_class: null,
    message_id_header: null,
    size: null,
    sandbox: m.sandbox ?? 0,
    created_at: m.now,
    updated_at: m.now,
    delivered_at: null,
  };
}

export async function insertMessages(db: Db, rows: MessagesTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await db
      .insertInto('messages')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .execute();
  }
}

/**
 * Leases up to `limit` due messages to `owner`, transactional (priority 0) first.
 * On PostgreSQL `FOR UPDATE SKIP LOCKED` lets any number of workers claim side by side.
 * Status literals are inlined (not bound) so the planner can use the partial index messages_due.
 */
export async function claimDueMessages(
  db: Db,
  dialect: SqlDialect,
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
  maxPriority?: number,
): Promise<MessagesTable[]> {
  const lock = dialect === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  // Only urgent mail (priority <= maxPriority) for a worker's reserved slots; the same index serves it.
  const urgentOnly = maxPriority === undefined ? sql`` : sql`AND priority <= ${maxPriority}`;
  const result = await sql<MessagesTable>`
    UPDATE messages
       SET status = 'sending', lease_owner = ${owner}, lease_expires_at = ${now + leaseMs},
           attempts = attempts + 1, updated_at = ${now}
     WHERE id IN (
       SELECT id FROM messages
        WHERE status IN ('queued', 'deferred') AND next_attempt_at <= ${now} ${urgentOnly}
        ORDER BY priority, next_attempt_at
        LIMIT ${limit}
        ${lock})
    RETURNING *`.execute(db);
  return result.rows.sort((a, b) => a.priority - b.priority || a.next_attempt_at - b.next_attempt_at);
}

// Leases in flight: a chunk of ids per statement keeps the bound parameters under SQLite's limit.
const LEASE_CHUNK = 1000;

/**
 * Extends the leases of the messages a live worker is still working on, so that a lease runs out
 * only when its worker is gone, not because a slow relay or a deep send queue outlasted it.
 * On PostgreSQL rows locked right now (their outcome being written) are skipped, not waited for:
 * waiting on them while holding others is how two transactions deadlock.
 */
export async function renewLeases(
  db: Kysely<Database>,
  dialect: SqlDialect,
  owner: string,
  ids: string[],
  now: number,
  leaseMs: number,
): Promise<number> {
  let renewed = 0;
  for (let i = 0; i < ids.length; i += LEASE_CHUNK) {
    const chunk = ids.slice(i, i + LEASE_CHUNK);
    const result =
      dialect === 'postgres'
        ? await sql`
            UPDATE messages SET lease_expires_at = ${now + leaseMs}
             WHERE id IN (
               SELECT id FROM messages
                WHERE id IN (${sql.join(chunk)}) AND status = 'sending' AND lease_owner = ${owner}
                ORDER BY id
                FOR UPDATE SKIP LOCKED)`.execute(db)
        : await sql`
            UPDATE messages SET lease_expires_at = ${now + leaseMs}
             WHERE id IN (${sql.join(chunk)}) AND status = 'sending' AND lease_owner = ${owner}`.execute(db);
    renewed += Number(result.numAffectedRows ?? 0);
  }
  return renewed;
}

/** Messages a sweep must not touch: the ones the sweeping worker itself is still working on. */
export interface SparedLeases {
  owner: string;
  ids: ReadonlySet<string>;
}

/**
 * Returns messages whose lease ran out (their worker died) to the queue, except the sweeping
 * worker's own messages in flight: however late its renewals were (a stalled event loop), it knows
 * they are alive, and handing them out again would send them twice.
 */
export async function releaseExpiredLeases(
  db: Kysely<Database>,
  dialect: SqlDialect,
  now: number,
  spare?: SparedLeases,
): Promise<number> {
  const expired = await sql<{ id: string; lease_owner: string | null }>`
    SELECT id, lease_owner FROM messages WHERE status = 'sending' AND lease_expires_at < ${now}`.execute(db);
  const ids = expired.rows
    .filter((r) => !(spare && r.lease_owner === spare.owner && spare.ids.has(r.id)))
    .map((r) => r.id);
  // On PostgreSQL a row locked right now belongs to a live transaction: skip it rather than wait.
  const lock = dialect === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  let released = 0;
  for (let i = 0; i < ids.length; i += LEASE_CHUNK) {
    const chunk = ids.slice(i, i + LEASE_CHUNK);
    // The expiry is checked again: a lease renewed since the SELECT stays.
    const result = await sql`
      UPDATE messages SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = ${now}
       WHERE id IN (
         SELECT id FROM messages
          WHERE id IN (${sql.join(chunk)}) AND status = 'sending' AND lease_expires_at < ${now}
          ${lock})`.execute(db);
    released += Number(result.numAffectedRows ?? 0);
  }
  return released;
}

/**
 * A worker's own claims that it is not working on (`working`): a claim whose commit could not be
 * confirmed, messages dropped while the store was unavailable. Back to the queue now rather than
 * when their lease runs out.
 */
export async function releaseIdleOwnLeases(
  db: Kysely<Database>,
  owner: string,
  working: ReadonlySet<string>,
  now: number,
): Promise<number> {
  const leased = await db
    .selectFrom('messages')
    .select('id')
    .where('status', '=', 'sending')
    .where('lease_owner', '=', owner)
    .execute();
  const ids = leased.map((r) => r.id).filter((id) => !working.has(id));
  let released = 0;
  for (let i = 0; i < ids.length; i += LEASE_CHUNK) {
    const result = await db
      .updateTable('messages')
      .set({ status: 'queued', lease_owner: null, lease_expires_at: null, updated_at: now })
      .where('id', 'in', ids.slice(i, i + LEASE_CHUNK))
      .where('status', '=', 'sending')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    released += Number(result.numUpdatedRows);
  }
  return released;
}

/** On SQLite one process owns the queue, so at its start every lease is an orphan of a crash. */
export async function releaseAllLeases(db: Kysely<Database>, now: number): Promise<number> {
  const result = await sql`
    UPDATE messages SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = ${now}
     WHERE status = 'sending'`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

export interface MessageOutcome {
  id: string;
  status: 'queued' | 'delivered' | 'deferred' | 'bounced' | 'captured' | 'suppressed';
  /** Handed back untried (the transport's limits for the destination were full): the claim's attempt is undone. */
  notTried?: boolean;
  lastResponse: string | null;
  bounceClass: number | null;
  nextAttemptAt?: number;
  messageIdHeader: string | null;
  size: number | null;
  at: number;
}

/** Outcomes written per statement: 10 bound values each stays far under both databases' limits. */
const OUTCOME_CHUNK = 500;

/**
 * Writes many outcomes with one statement per chunk (UPDATE … FROM VALUES), only where this worker
 * still holds the lease; returns the ids written. One statement instead of one per message: at
 * thousands of messages a second the per-statement overhead (building, binding, stepping) was the
 * larger part of recording an outcome. Values are cast so PostgreSQL types the VALUES columns.
 */
export async function applyOutcomes(db: Db, owner: string, outcomes: MessageOutcome[]): Promise<Set<string>> {
  const applied = new Set<string>();
  for (let i = 0; i < outcomes.length; i += OUTCOME_CHUNK) {
    const rows = outcomes.slice(i, i + OUTCOME_CHUNK).map(
      (o) =>
        sql`(${o.id}, ${o.status}, ${o.lastResponse}, CAST(${o.bounceClass} AS integer),
             CAST(${o.nextAttemptAt ?? o.at} AS bigint), ${o.messageIdHeader}, CAST(${o.size} AS integer),
             CAST(${o.at} AS bigint),
             CAST(${o.status === 'delivered' || o.status === 'captured' ? o.at : null} AS bigint),
             CAST(${o.notTried ? 1 : 0} AS integer))`,
    );
    const result = await sql<{ id: string }>`
      UPDATE messages
         SET status = v.column2, last_response = v.column3, bounce_class = v.column4, next_attempt_at = v.column5,
             message_id_header = v.column6, size = v.column7, lease_owner = NULL, lease_expires_at = NULL,
             updated_at = v.column8, delivered_at = v.column9, attempts = messages.attempts - v.column10
        FROM (VALUES ${sql.join(rows)}) AS v
       WHERE messages.id = v.column1 AND messages.lease_owner = ${owner}
      RETURNING messages.id`.execute(db);
    for (const r of result.rows) applied.add(r.id);
  }
  return applied;
}

export interface MessageFilter {
  accountId: string;
  status?: string;
  recipient?: string;
  transmissionId?: string;
  /** Created at or after / before this time (epoch ms). */
  createdFrom?: number;
  createdBefore?: number;
}

function filtered(db: Db, f: MessageFilter) {
  let q = db.selectFrom('messages').where('account_id', '=', f.accountId);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.recipient) q = q.where('recipient', '=', f.recipient);
  if (f.transmissionId) q = q.where('transmission_id', '=', f.transmissionId);
  if (f.createdFrom !== undefined) q = q.where('created_at', '>=', f.createdFrom);
  if (f.createdBefore !== undefined) q = q.where('created_at', '<', f.createdBefore);
  return q;
}

export async function listMessages(
  db: Db,
  f: MessageFilter,
  offset: number,
  limit: number,
): Promise<{ count: number; rows: MessagesTable[] }> {
  const [countRow, rows] = await Promise.all([
    filtered(db, f)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
    filtered(db, f)
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute(),
  ]);
  return { count: Number(countRow.n), rows };
}

export async function findMessage(db: Db, accountId: string, id: string): Promise<MessagesTable | undefined> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Keeps a captured message's bytes as they are (8-bit parts in any charset included). */
export async function insertRaw(db: Db, messageId: string, accountId: string, mime: Buffer, at: number): Promise<void> {
  await db
    .insertInto('message_raw')
    .values({ message_id: messageId, account_id: accountId, raw: '', mime, created_at: at })
    .onConflict((oc) => oc.column('message_id').doUpdateSet({ raw: '', mime, created_at: at }))
    .execute();
}

export async function findRaw(db: Db, accountId: string, messageId: string): Promise<Buffer | undefined> {
  const row = await db
    .selectFrom('message_raw')
    .select(['raw', 'mime'])
    .where('account_id', '=', accountId)
    .where('message_id', '=', messageId)
    .executeTakeFirst();
  if (!row) return undefined;
  // Rows captured before migration 0017 hold text only.
  return row.mime ? Buffer.from(row.mime) : Buffer.from(row.raw, 'utf8');
}
