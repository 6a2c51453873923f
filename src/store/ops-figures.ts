// The reads behind the operations endpoints (/readyz, /metrics, /v1/metrics/now). Each is one
// statement over an index, cheap enough to run at every probe or scrape (the callers cache them
// for a second or two on top).
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { SqlDialect } from './migrations.ts';

/** Outbox rows still to be sent: waiting, being sent now, waiting for a retry. */
export interface QueueDepth {
  queued: number;
  sending: number;
  deferred: number;
}

type Counted = { status: string; n: number | string };

function depthOf(rows: Counted[]): QueueDepth {
  const depth: QueueDepth = { queued: 0, sending: 0, deferred: 0 };
  for (const r of rows) if (r.status in depth) depth[r.status as keyof QueueDepth] = Number(r.n);
  return depth;
}

/**
 * The whole outbox's depth. Each half walks one of the claim's partial indexes (messages_due over
 * queued and deferred rows, messages_leased over sending ones), so the cost follows the queue's
 * length, never the history of delivered mail. SQLite, without statistics on messages, would rather
 * scan a covering index of every row (messages_mailing_status): it is told which index to use.
 */
export async function queueDepth(db: Kysely<Database>, dialect: SqlDialect): Promise<QueueDepth> {
  const due = dialect === 'sqlite' ? sql`messages INDEXED BY messages_due` : sql`messages`;
  const leased = dialect === 'sqlite' ? sql`messages INDEXED BY messages_leased` : sql`messages`;
  const { rows } = await sql<Counted>`
    SELECT status, count(*) AS n FROM ${due} WHERE status IN ('queued', 'deferred') GROUP BY status
    UNION ALL
    SELECT 'sending' AS status, count(*) AS n FROM ${leased} WHERE status = 'sending'`.execute(db);
  return depthOf(rows);
}

/** One account's outbox depth: a range of the (account_id, status, created_at) index per status. */
export async function accountQueueDepth(db: Kysely<Database>, accountId: string): Promise<QueueDepth> {
  const rows = await db
    .selectFrom('messages')
    .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('account_id', '=', accountId)
    .where('status', 'in', ['queued', 'sending', 'deferred'])
    .groupBy('status')
    .execute();
  return depthOf(rows);
}

/**
 * Messages of one account accepted (injection events) and delivered (delivery events, captured
 * ones included) since `since`: the events_account_created index, one minute of the account's
 * events.
 */
export async function accountThroughputSince(
  db: Kysely<Database>,
  accountId: string,
  since: number,
): Promise<{ accepted: number; delivered: number }> {
  const rows = await db
    .selectFrom('events')
    .select(['type', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('account_id', '=', accountId)
    .where('created_at', '>=', since)
    .where('type', 'in', ['injection', 'delivery'])
    .groupBy('type')
    .execute();
  const of = (type: string) => Number(rows.find((r) => r.type === type)?.n ?? 0);
  return { accepted: of('injection'), delivered: of('delivery') };
}

/** Webhook batches made but not yet delivered (pending, retries included), and the events in them. */
export async function webhookBacklog(db: Kysely<Database>): Promise<{ batches: number; events: number }> {
  const row = await db
    .selectFrom('webhook_batches')
    .select([
      (eb) => eb.fn.countAll<number | string>().as('batches'),
      (eb) => eb.fn.coalesce(eb.fn.sum<number | string>('event_count'), sql<number>`0`).as('events'),
    ])
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  return { batches: Number(row.batches), events: Number(row.events) };
}

/** The names of the migrations applied to this database (Kysely's own table; a dozen rows). */
export async function appliedMigrations(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration`.execute(db);
  return rows.map((r) => r.name);
}
