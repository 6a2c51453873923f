// The part of accepting a transmission that every surface shares (HTTP JSON, SMTP submission):
// one outbox row per recipient (suppressed recipients recorded as such), their injection events,
// and the commit of it all with the usage and the quota check, in the commit batcher's shared
// transaction, so that the caller answers only once it is durable.
import type { Transaction } from 'kysely';
import type { Context } from '../context.ts';
import type { ApiKeyInfo } from './api-keys.ts';
import { newId } from '../domain/ids.ts';
import { suppressionApplies } from '../domain/suppression-policy.ts';
import type { RecipientData, TransmissionContent } from '../domain/transmission-content.ts';
import type { BulkRows } from '../store/commit-batcher.ts';
import type { Database, MessagesTable, TransmissionsTable } from '../store/schema.ts';
import { newOutboxRow } from '../store/messages.ts';
import type { NewEvent } from '../store/events.ts';
import { findSuppressed } from '../store/suppressions.ts';
import { reserveQuota } from './quota.ts';
import { sandboxFlags } from './sandbox.ts';
import { recordEvents, transmissionDimensions } from '../events/record-events.ts';

export interface OutboxRecipient {
  address: { email: string; name?: string };
  type: 'to' | 'cc' | 'bcc';
  data: RecipientData | null;
}

export interface OutboxPlan {
  transmissionId: string;
  accountId: string;
  recipients: OutboxRecipient[];
  /** The transmission's metadata; a recipient's own is merged over it in its injection event. */
  metadata: Record<string, string>;
  transactional: boolean;
  sandbox: boolean;
  dueAt: number;
  now: number;
}

/** The outbox rows and injection events of a transmission (suppressed recipients already settled). */
export async function planOutbox(
  ctx: Context,
  plan: OutboxPlan,
): Promise<{ rows: MessagesTable[]; events: NewEvent[] }> {
  const { transmissionId, accountId, recipients, now } = plan;
  const suppressed = await findSuppressed(ctx.db, accountId, [
    ...new Set(recipients.map((r) => r.address.email.toLowerCase())),
  ]);
  const sandboxFlag = await sandboxFlags(
    ctx,
    accountId,
    plan.sandbox,
    recipients.map((r) => r.address.email),
  );
  const rows: MessagesTable[] = recipients.map((r) => {
    const row = newOutboxRow({
      id: newId(),
      account_id: accountId,
      transmission_id: transmissionId,
      recipient: r.address.email,
      recipient_name: r.address.name ?? null,
      recipient_type: r.type,
      recipient_data: r.data ? JSON.stringify(r.data) : null,
      priority: plan.transactional ? 0 : 10,
      sandbox: sandboxFlag(r.address.email),
      next_attempt_at: plan.dueAt,
      now,
    });
    const type = suppressed.get(r.address.email.toLowerCase());
    // An unsubscribe holds back marketing mail only: a transactional transmission still goes out.
    if (type === undefined || !suppressionApplies(type, plan.transactional)) return row;
    return {
      ...row,
      status: 'suppressed',
      last_response: `Recipient is on the suppression list (${type})`,
      bounce_class: 50,
    };
  });
  const events: NewEvent[] = rows.flatMap((m, i) => {
    const base = {
      account_id: accountId,
      message_id: m.id,
      transmission_id: transmissionId,
      mailing_id: null,
      recipient: m.recipient,
      created_at: now,
    };
    const meta = JSON.stringify({ metadata: { ...plan.metadata, ...(recipients[i].data?.metadata ?? {}) } });
    const list: NewEvent[] = [{ ...base, type: 'injection', data: meta }];
    if (m.status === 'suppressed') {
      list.push({ ...base, type: 'bounce', data: JSON.stringify({ bounceClass: 50, reason: m.last_response }) });
    }
    return list;
  });
  return { rows, events };
}

export interface CommitInput {
  transmissionId: string;
  content: TransmissionContent;
  rows: MessagesTable[];
  events: NewEvent[];
  sendAt: number | null;
  now: number;
  /** An SMTP transmission's MIME, stored once beside it. */
  mime?: Buffer;
}

function transmissionRow(key: Pick<ApiKeyInfo, 'id' | 'accountId'>, input: CommitInput): TransmissionsTable {
  const { content } = input;
  return {
    id: input.transmissionId,
    account_id: key.accountId,
    api_key_id: key.id,
    from_email: content.from.email,
    from_name: content.from.name ?? null,
    subject: content.subject,
    content: JSON.stringify(content),
    recipient_count: input.rows.length,
    sandbox: content.options.sandbox ? 1 : 0,
    transactional: content.options.transactional ? 1 : 0,
    campaign_id: content.campaignId,
    send_at: input.sendAt,
    created_at: input.now,
  };
}

/**
 * Writes an accepted transmission inside a commit batch (ctx.batcher.run): quota checked again
 * inside the transaction, then the transmission, its rows, events, counters and usage.
 */
export async function commitTransmission(
  ctx: Context,
  key: Pick<ApiKeyInfo, 'id' | 'accountId'>,
  trx: Transaction<Database>,
  bulk: BulkRows,
  input: CommitInput,
): Promise<void> {
  const t = transmissionRow(key, input);
  const { rows } = input;
  // Counted and checked again inside the transaction (quota.ts): concurrent accepts, in this
  // process or another, would otherwise all pass the early check and overshoot the limit. Throwing
  // here rolls the shared batch back; the batcher then redoes every request alone.
  await reserveQuota(
    ctx,
    trx,
    key.accountId,
    { messages: rows.length, sandbox: t.sandbox ? rows.length : 0 },
    t.created_at,
  );
  // Appended rows go into the batch's multi-row INSERTs, written just before the shared commit.
  bulk.insert('transmissions', [t]);
  if (input.mime)
    bulk.insert('transmission_mime', [
      { transmission_id: t.id, account_id: t.account_id, mime: input.mime, created_at: t.created_at },
    ]);
  bulk.insert('messages', rows);
  // Events ride in the batch's bulk insert; their counters are summed over the batch, same commit.
  await recordEvents(trx, input.events, {
    known: [[t.id, transmissionDimensions(t.from_email, input.content.labels)]],
    bulk,
  });
}

export { checkQuota, utcDay } from './quota.ts';
