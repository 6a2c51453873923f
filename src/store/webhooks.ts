// Webhooks, their batches and the attempt log. Every read and change of a webhook through the API
// is scoped to the account; the dispatcher's queries work across accounts by webhook id.
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, WebhookAttemptsTable, WebhookBatchesTable, WebhooksTable } from './schema.ts';
import type { SqlDialect } from './migrations.ts';

type Db = Kysely<Database> | Transaction<Database>;

export type WebhookRow = Omit<Selectable<WebhooksTable>, 'id' | 'cursor'> & { id: number; cursor: number };
export type WebhookBatchRow = Selectable<WebhookBatchesTable>;
export type WebhookAttemptRow = Omit<Selectable<WebhookAttemptsTable>, 'id'> & { id: number };

// bigint columns come back as strings from PostgreSQL.
const toWebhook = (r: Selectable<WebhooksTable>): WebhookRow => ({
  ...r,
  id: Number(r.id),
  cursor: Number(r.cursor),
  lease_expires_at: r.lease_expires_at === null ? null : Number(r.lease_expires_at),
  created_at: Number(r.created_at),
  updated_at: Number(r.updated_at),
});
const toBatch = (r: WebhookBatchRow): WebhookBatchRow => ({
  ...r,
  webhook_id: Number(r.webhook_id),
  next_attempt_at: Number(r.next_attempt_at),
  first_attempt_at: r.first_attempt_at === null ? null : Number(r.first_attempt_at),
  last_attempt_at: r.last_attempt_at === null ? null : Number(r.last_attempt_at),
  created_at: Number(r.created_at),
});

export type NewWebhook = Omit<WebhooksTable, 'id' | 'lease_owner' | 'lease_expires_at'>;
export type WebhookChanges = Partial<
  Pick<
    WebhooksTable,
    'name' | 'target' | 'events' | 'auth_user' | 'auth_password' | 'secret' | 'active' | 'cursor' | 'updated_at'
  >
>;

/** The newest event id of the account: where a new webhook starts (it gets no history). */
export async function latestEventId(db: Db, accountId: string): Promise<number> {
  const row = await db
    .selectFrom('events')
    .select((eb) => eb.fn.max('id').as('id'))
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return Number(row?.id ?? 0);
}

export async function insertWebhook(db: Db, row: NewWebhook): Promise<number> {
  const inserted = await db.insertInto('webhooks').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(inserted.id);
}

export async function findWebhook(
  db: Db,
  accountId: string,
  surface: string,
  id: number,
): Promise<WebhookRow | undefined> {
  const row = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('surface', '=', surface)
    .where('id', '=', id)
    .executeTakeFirst();
  return row ? toWebhook(row) : undefined;
}

export async function listWebhooks(
  db: Db,
  accountId: string,
  surface: string,
  offset: number,
  limit: number,
): Promise<{ total: number; rows: WebhookRow[] }> {
  const base = db.selectFrom('webhooks').where('account_id', '=', accountId).where('surface', '=', surface);
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base.selectAll().orderBy('id', 'asc').offset(offset).limit(limit).execute(),
  ]);
  return { total: Number(count.n), rows: rows.map(toWebhook) };
}

export async function updateWebhook(
  db: Db,
  accountId: string,
  surface: string,
  id: number,
  changes: WebhookChanges,
): Promise<boolean> {
  const r = await db
    .updateTable('webhooks')
    .set(changes)
    .where('account_id', '=', accountId)
    .where('surface', '=', surface)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Deletes the webhook with its batches and log. */
export async function deleteWebhook(
  db: Transaction<Database>,
  accountId: string,
  surface: string,
  id: number,
): Promise<boolean> {
  const r = await db
    .deleteFrom('webhooks')
    .where('account_id', '=', accountId)
    .where('surface', '=', surface)
    .where('id', '=', id)
    .executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) return false;
  await db.deleteFrom('webhook_batches').where('webhook_id', '=', id).execute();
  await db.deleteFrom('webhook_attempts').where('webhook_id', '=', id).execute();
  return true;
}

// ---- the dispatcher

/**
 * Active webhooks that have work (events after their cursor up to `eventMark`, or a batch due) and
 * whose lease is free; at most `limit`.
 */
export async function findWebhooksWithWork(db: Db, eventMark: number, now: number, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('webhooks')
    .select('id')
    .where('active', '=', 1)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
    .where((eb) =>
      eb.or([
        eb('cursor', '<', eventMark),
        eb.exists(
          eb
            .selectFrom('webhook_batches')
            .select('webhook_batches.id')
            .whereRef('webhook_batches.webhook_id', '=', 'webhooks.id')
            .where('webhook_batches.status', '=', 'pending')
            .where('webhook_batches.next_attempt_at', '<=', now),
        ),
      ]),
    )
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => Number(r.id));
}

/** Takes the webhook's lease when it is free or expired (or already ours); the row, or undefined. */
export async function leaseWebhook(
  db: Db,
  id: number,
  owner: string,
  now: number,
  leaseMs: number,
): Promise<WebhookRow | undefined> {
  const r = await db
    .updateTable('webhooks')
    .set({ lease_owner: owner, lease_expires_at: now + leaseMs })
    .where('id', '=', id)
    .where('active', '=', 1)
    .where((eb) =>
      eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now), eb('lease_owner', '=', owner)]),
    )
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return undefined;
  const row = await db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toWebhook(row) : undefined;
}

export async function releaseWebhook(db: Db, id: number, owner: string): Promise<void> {
  await db
    .updateTable('webhooks')
    .set({ lease_owner: null, lease_expires_at: null })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .execute();
}

export interface EventRow {
  id: number;
  type: string;
  message_id: string | null;
  transmission_id: string | null;
  mailing_id: string | null;
  recipient: string | null;
  data: string | null;
  created_at: number;
}

/** The account's events of `types` with cursor < id ≤ mark, oldest first. */
export async function eventsAfter(
  db: Db,
  accountId: string,
  types: string[],
  cursor: number,
  mark: number,
  limit: number,
): Promise<EventRow[]> {
  if (types.length === 0) return [];
  const rows = await db
    .selectFrom('events')
    .select(['id', 'type', 'message_id', 'transmission_id', 'mailing_id', 'recipient', 'data', 'created_at'])
    .where('account_id', '=', accountId)
    .where('id', '>', cursor)
    .where('id', '<=', mark)
    .where('type', 'in', types)
    .orderBy('id', 'asc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, id: Number(r.id), created_at: Number(r.created_at) }));
}

/** The `data` of the injection events of these messages (they carry the message's metadata). */
export async function injectionData(
  db: Db,
  accountId: string,
  messageIds: string[],
): Promise<Map<string, string | null>> {
  const found = new Map<string, string | null>();
  if (messageIds.length === 0) return found;
  const rows = await db
    .selectFrom('events')
    .select(['message_id', 'data'])
    .where('message_id', 'in', messageIds)
    .where('account_id', '=', accountId)
    .where('type', '=', 'injection')
    .execute();
  for (const r of rows) if (r.message_id) found.set(r.message_id, r.data);
  return found;
}

/** Moves the cursor from `from` to `to`; false when someone else moved it first. */
export async function advanceCursor(db: Db, id: number, from: number, to: number): Promise<boolean> {
  const r = await db
    .updateTable('webhooks')
    .set({ cursor: to })
    .where('id', '=', id)
    .where('cursor', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function insertBatch(db: Db, row: WebhookBatchesTable): Promise<void> {
  await db.insertInto('webhook_batches').values(row).execute();
}

export async function dueBatches(db: Db, webhookId: number, now: number, limit: number): Promise<WebhookBatchRow[]> {
  const rows = await db
    .selectFrom('webhook_batches')
    .selectAll()
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .orderBy('created_at')
    .limit(limit)
    .execute();
  return rows.map(toBatch);
}

export async function settleBatch(
  db: Db,
  id: string,
  changes: Partial<
    Pick<WebhookBatchesTable, 'status' | 'retry_count' | 'next_attempt_at' | 'first_attempt_at' | 'last_attempt_at'>
  >,
): Promise<void> {
  await db.updateTable('webhook_batches').set(changes).where('id', '=', id).execute();
}

/** Logs an attempt and drops the webhook's attempts beyond the newest `keep`. */
export async function logAttempt(db: Db, row: Omit<WebhookAttemptsTable, 'id'>, keep: number): Promise<void> {
  await db.insertInto('webhook_attempts').values(row).execute();
  const cutoff = await db
    .selectFrom('webhook_attempts')
    .select('id')
    .where('webhook_id', '=', row.webhook_id)
    .orderBy('id', 'desc')
    .offset(keep)
    .limit(1)
    .executeTakeFirst();
  if (cutoff)
    await db
      .deleteFrom('webhook_attempts')
      .where('webhook_id', '=', row.webhook_id)
      .where('id', '<=', Number(cutoff.id))
      .execute();
}

export async function listAttempts(
  db: Db,
  accountId: string,
  webhookId: number,
  offset: number,
  limit: number,
): Promise<{ total: number; rows: WebhookAttemptRow[] }> {
  const base = db
    .selectFrom('webhook_attempts')
    .where('account_id', '=', accountId)
    .where('webhook_id', '=', webhookId);
  const [count, rows] = await Promise.all([
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    base.selectAll().orderBy('id', 'desc').offset(offset).limit(limit).execute(),
  ]);
  return {
    total: Number(count.n),
    rows: rows.map((r) => ({
      ...r,
      id: Number(r.id),
      webhook_id: Number(r.webhook_id),
      attempted_at: Number(r.attempted_at),
    })),
  };
}

/** Forgets delivered and failed batches created before `before` (their attempts stay in the log). */
export async function pruneFinishedBatches(db: Db, before: number): Promise<void> {
  await db
    .deleteFrom('webhook_batches')
    .where('status', 'in', ['delivered', 'failed'])
    .where('created_at', '<', before)
    .execute();
}

/**
 * The highest event id below which no event can still appear (PostgreSQL): ids are taken from a
 * sequence before their transaction commits, so a committed id 12 says nothing about an id 11
 * still in flight. A mark read at snapshot S is safe once every transaction running at S has
 * ended, i.e. once a later snapshot's xmin has reached S's xmax. Returns the current reading.
 */
export async function readEventHorizon(
  db: Db,
  dialect: SqlDialect,
): Promise<{ maxId: number; xmin: bigint; xmax: bigint }> {
  if (dialect === 'sqlite') {
    // One writer at a time and ids taken inside it: what is visible is always a prefix.
    const row = await db
      .selectFrom('events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return { maxId: Number(row?.id ?? 0), xmin: 0n, xmax: 0n };
  }
  const r = await sql<{ max_id: string | null; xmin: string; xmax: string }>`
    select (select max(id) from events) as max_id,
           txid_snapshot_xmin(txid_current_snapshot())::text as xmin,
           txid_snapshot_xmax(txid_current_snapshot())::text as xmax`.execute(db);
  const row = r.rows[0];
  return { maxId: Number(row.max_id ?? 0), xmin: BigInt(row.xmin), xmax: BigInt(row.xmax) };
}
