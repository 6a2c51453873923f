// What the inbound receiver reads and writes: the outbox rows a report is about, whether a host is
// one of our return-path hosts, and the reports kept for inspection.
// The look-ups by outbox id and by Message-ID are not scoped to an account on purpose: a report
// arrives from a mail system that knows no account, and the message it names decides the account
// everything after it is scoped to.
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, InboundReportsTable, MessagesTable } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type InboundReportRow = Selectable<InboundReportsTable>;

export type OutboxRef = Pick<
  MessagesTable,
  | 'id'
  | 'account_id'
  | 'transmission_id'
  | 'mailing_id'
  | 'subscriber_id'
  | 'recipient'
  | 'status'
  | 'message_id_header'
>;

const REF_COLUMNS = [
  'id',
  'account_id',
  'transmission_id',
  'mailing_id',
  'subscriber_id',
  'recipient',
  'status',
  'message_id_header',
] as const;

/** Most rows one Message-ID or one source is searched through for a recipient. */
const SEARCH_LIMIT = 1000;

export async function findOutboxMessage(db: Db, id: string): Promise<OutboxRef | undefined> {
  return db.selectFrom('messages').select(REF_COLUMNS).where('id', '=', id).executeTakeFirst();
}

/** The outbox rows that went out with this Message-ID (several when a submitted message had several recipients). */
export async function findOutboxByMessageIdHeader(db: Db, header: string): Promise<OutboxRef[]> {
  return db
    .selectFrom('messages')
    .select(REF_COLUMNS)
    .where('message_id_header', '=', header)
    .orderBy('id')
    .limit(SEARCH_LIMIT)
    .execute();
}

/** The row of the same transmission or mailing sent to `recipient` (case-insensitive). */
export async function findSiblingForRecipient(
  db: Db,
  of: OutboxRef,
  recipient: string,
): Promise<OutboxRef | undefined> {
  let q = db.selectFrom('messages').select(REF_COLUMNS).where('account_id', '=', of.account_id);
  if (of.transmission_id) q = q.where('transmission_id', '=', of.transmission_id);
  else if (of.mailing_id) q = q.where('mailing_id', '=', of.mailing_id);
  else return undefined;
  // Recipients are stored as given; compared lower-cased (the domain part is case-insensitive, and
  // mailbox providers treat local parts the same way in practice).
  const rows = await q.where('recipient', 'in', [recipient, recipient.toLowerCase()]).limit(2).execute();
  if (rows.length) return rows[0];
  const all = await db
    .selectFrom('messages')
    .select(REF_COLUMNS)
    .where('account_id', '=', of.account_id)
    .where(of.transmission_id ? 'transmission_id' : 'mailing_id', '=', (of.transmission_id ?? of.mailing_id)!)
    .limit(SEARCH_LIMIT)
    .execute();
  return all.find((r) => r.recipient.toLowerCase() === recipient.toLowerCase());
}

/**
 * A message that was handed over and then bounced out of band becomes `bounced`. Only rows that
 * left (delivered) or wait for a retry (deferred, not leased): a row a worker holds right now
 * keeps whatever the worker records.
 */
export async function markBouncedOutOfBand(
  db: Db,
  accountId: string,
  id: string,
  bounceClass: number,
  reason: string,
  at: number,
): Promise<boolean> {
  const result = await db
    .updateTable('messages')
    .set({ status: 'bounced', bounce_class: bounceClass, last_response: reason, updated_at: at })
    .where('account_id', '=', accountId)
    .where('id', '=', id)
    .where('status', 'in', ['delivered', 'deferred'])
    .where('lease_owner', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Whether any account has this sending domain (a domain's mail may use it, or `bounces.<it>`, as return path). */
export async function isSendingDomain(db: Db, domains: string[]): Promise<boolean> {
  if (domains.length === 0) return false;
  const row = await db
    .selectFrom('sending_domains')
    .select('id')
    .where('domain', 'in', domains)
    .limit(1)
    .executeTakeFirst();
  return !!row;
}

/** Whether the message already has an event of this type (a report delivered twice records once). */
export async function hasMessageEvent(db: Db, accountId: string, messageId: string, type: string): Promise<boolean> {
  const row = await db
    .selectFrom('events')
    .select('id')
    .where('message_id', '=', messageId)
    .where('account_id', '=', accountId)
    .where('type', '=', type)
    .limit(1)
    .executeTakeFirst();
  return !!row;
}

export async function insertInboundReport(db: Db, row: InboundReportRow): Promise<void> {
  await db.insertInto('inbound_reports').values(row).execute();
}

export interface InboundReportScope {
  accountId: string;
  /** Also the reports no account could be matched to (the installation's own account sees them). */
  withUnmatched: boolean;
}

export interface InboundReportFilter {
  kind?: string;
  outcome?: string;
}

function scoped(db: Db, scope: InboundReportScope, filter: InboundReportFilter) {
  let q = db
    .selectFrom('inbound_reports')
    .where((eb) =>
      scope.withUnmatched
        ? eb.or([eb('account_id', '=', scope.accountId), eb('account_id', 'is', null)])
        : eb('account_id', '=', scope.accountId),
    );
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  if (filter.outcome) q = q.where('outcome', '=', filter.outcome);
  return q;
}

/** A page of reports, newest first (ids are time-ordered), without their raw text. */
export async function listInboundReports(
  db: Db,
  scope: InboundReportScope,
  filter: InboundReportFilter,
  offset: number,
  limit: number,
): Promise<{ total: number; rows: Omit<InboundReportRow, 'raw'>[] }> {
  const [count, rows] = await Promise.all([
    scoped(db, scope, filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
    scoped(db, scope, filter)
      .select([
        'id',
        'account_id',
        'kind',
        'format',
        'outcome',
        'message_id',
        'mail_from',
        'rcpt_to',
        'subject',
        'details',
        'raw_bytes',
        'created_at',
      ])
      .orderBy('id', 'desc')
      .offset(offset)
      .limit(limit)
      .execute(),
  ]);
  return { total: Number(count.n), rows };
}

export async function findInboundReport(
  db: Db,
  scope: InboundReportScope,
  id: string,
): Promise<InboundReportRow | undefined> {
  return scoped(db, scope, {}).selectAll().where('id', '=', id).executeTakeFirst();
}
