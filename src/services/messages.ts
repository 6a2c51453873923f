// Reading back what was sent: transmissions, their per-recipient messages and events.
import { mailingIdJson } from '../domain/mailing-id.ts';
import type { Context } from '../context.ts';
import { invalid, notFound } from './errors.ts';
import { transmissionTotals } from './statistics.ts';
import { countMessagesByStatus, findTransmission } from '../store/transmissions.ts';
import { findMessage, findRaw, listMessages, type MessageFilter } from '../store/messages.ts';
import { listMessageEvents, listTransmissionEvents } from '../store/events.ts';
import { parseJson } from '../domain/json.ts';
import { removeTracking } from '../domain/tracking-html.ts';
import type { MessagesTable, EventsTable } from '../store/schema.ts';
import type { Selectable } from 'kysely';
import { simpleParser } from 'mailparser';
import type { RecipientData, TransmissionContent } from '../domain/transmission-content.ts';

export async function transmissionSummary(ctx: Context, accountId: string, id: string) {
  const t = await findTransmission(ctx.db, accountId, id);
  if (!t) throw notFound(`transmission ${id}`);
  const [counts, totals] = await Promise.all([
    countMessagesByStatus(ctx.db, id),
    transmissionTotals(ctx, accountId, id),
  ]);
  const pending = (counts.queued ?? 0) + (counts.sending ?? 0) + (counts.deferred ?? 0);
  const status = pending > 0 ? (t.send_at && t.send_at > ctx.clock() ? 'scheduled' : 'sending') : 'completed';
  return {
    transmissionId: t.id,
    subject: t.subject,
    status,
    // Unix milliseconds, as the contract's DetailTransmissionData gives createdAt.
    createdAt: Number(t.created_at),
    scheduledAt: t.send_at ? Number(t.send_at) : null,
    recipientCount: t.recipient_count,
    from: t.from_name ? { email: t.from_email, name: t.from_name } : { email: t.from_email },
    sandbox: t.sandbox === 1,
    stats: {
      queued: pending,
      // From the counters events keep; opened and clicked count recipients (unique), like delivered.
      delivered: totals.delivered,
      opened: totals.uniqueOpens,
      clicked: totals.uniqueClicks,
      bounced: totals.bounced + totals.rejected,
      unsubscribed: totals.unsubscribes,
    },
  };
}

export function eventView(
  e: Selectable<EventsTable>,
  subject: string,
  friendlyFrom: string,
  metadata: Record<string, string> = {},
) {
  const data = parseJson<Record<string, unknown>>(e.data, {});
  return {
    type: e.type,
    messageId: e.message_id,
    recipient: e.recipient,
    subject,
    friendlyFrom,
    reason: (data.reason as string | undefined) ?? null,
    bounceClass: (data.bounceClass as number | undefined) ?? null,
    url: (data.url as string | undefined) ?? null,
    userAgent: (data.userAgent as string | undefined) ?? null,
    metadata: { ...metadata, ...((data.metadata as Record<string, string> | undefined) ?? {}) },
    timestamp: new Date(e.created_at).toISOString(),
  };
}

/**
 * A transmission's event as the contract's TransmissionEvent gives it: `timestamp` in Unix
 * milliseconds, and reason, url and userAgent left out (not null) when the event has none, since
 * the contract types them as strings. Posthorn adds messageId, bounceClass and metadata.
 */
function contractEventView(
  e: Selectable<EventsTable>,
  subject: string,
  friendlyFrom: string,
  metadata: Record<string, string>,
) {
  const {
    reason,
    url,
    userAgent,
    bounceClass,
    timestamp: _iso,
    ...rest
  } = eventView(e, subject, friendlyFrom, metadata);
  return {
    ...rest,
    ...(reason === null ? {} : { reason }),
    ...(url === null ? {} : { url }),
    ...(userAgent === null ? {} : { userAgent }),
    bounceClass,
    timestamp: Number(e.created_at),
  };
}

export async function transmissionEvents(ctx: Context, accountId: string, id: string) {
  const t = await findTransmission(ctx.db, accountId, id);
  if (!t) throw notFound(`transmission ${id}`);
  const events = await listTransmissionEvents(ctx.db, accountId, id, 10_000);
  // The transmission's metadata, with each recipient's own over it, is echoed in every event.
  const content = parseJson<Partial<TransmissionContent>>(t.content, {});
  const { rows } = await listMessages(ctx.db, { accountId, transmissionId: id }, 0, 1000);
  const perMessage = new Map(
    rows.map((m) => [
      m.id,
      { ...(content.metadata ?? {}), ...(parseJson<RecipientData>(m.recipient_data, {}).metadata ?? {}) },
    ]),
  );
  return events.map((e) =>
    contractEventView(e, t.subject, t.from_email, perMessage.get(e.message_id ?? '') ?? content.metadata ?? {}),
  );
}

export function messageView(m: MessagesTable) {
  return {
    id: m.id,
    transmissionId: m.transmission_id,
    mailingId: mailingIdJson(m.mailing_id),
    recipient: m.recipient,
    recipientName: m.recipient_name,
    recipientType: m.recipient_type,
    status: m.status,
    attempts: m.attempts,
    nextAttemptAt: m.status === 'queued' || m.status === 'deferred' ? new Date(m.next_attempt_at).toISOString() : null,
    lastResponse: m.last_response,
    bounceClass: m.bounce_class,
    messageIdHeader: m.message_id_header,
    size: m.size,
    sandbox: m.sandbox === 1,
    createdAt: new Date(m.created_at).toISOString(),
    updatedAt: new Date(m.updated_at).toISOString(),
    deliveredAt: m.delivered_at ? new Date(m.delivered_at).toISOString() : null,
  };
}

const DAY_MS = 24 * 3600 * 1000;

/** A time bound of the message list: a UTC day (YYYY-MM-DD) or an ISO-8601 date-time; 422 otherwise. */
function timeBound(field: 'from' | 'to', value: string): number {
  const dayOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const ms = Date.parse(dayOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw invalid(field, 'must be a date (YYYY-MM-DD) or an ISO-8601 date-time');
  // `to` as a day includes that whole day.
  return field === 'to' && dayOnly ? ms + DAY_MS : field === 'to' ? ms + 1 : ms;
}

/** The created-at window of `from` and `to` (both optional). */
export function createdBetween(from?: string, to?: string): { createdFrom?: number; createdBefore?: number } {
  return {
    ...(from ? { createdFrom: timeBound('from', from) } : {}),
    ...(to ? { createdBefore: timeBound('to', to) } : {}),
  };
}

export async function listMessagesPage(ctx: Context, filter: MessageFilter, page: number, size: number) {
  const { count, rows } = await listMessages(ctx.db, filter, (page - 1) * size, size);
  return { count, data: rows.map(messageView) };
}

export async function messageDetail(ctx: Context, accountId: string, id: string) {
  const m = await findMessage(ctx.db, accountId, id);
  if (!m) throw notFound(`message ${id}`);
  const events = await listMessageEvents(ctx.db, accountId, id);
  const hasRaw = m.status === 'captured';
  return {
    ...messageView(m),
    events: events.map((e) => eventView(e, '', '')).map(({ subject: _s, friendlyFrom: _f, ...rest }) => rest),
    rawUrl: hasRaw ? `/v1/messages/${m.id}/raw` : null,
    previewUrl: hasRaw ? `/v1/messages/${m.id}/preview` : null,
  };
}

/** A captured message as a mail client would show it: headers decoded, HTML and text bodies. */
export async function messagePreview(ctx: Context, accountId: string, id: string) {
  const raw = await messageRaw(ctx, accountId, id);
  const mail = await simpleParser(raw);
  const html = mail.html === false ? null : (mail.html ?? null);
  const list = (a: typeof mail.to) =>
    a === undefined
      ? []
      : (Array.isArray(a) ? a : [a]).flatMap((x) =>
          x.value.map((v) => ({ email: v.address ?? '', name: v.name || null })),
        );
  return {
    subject: mail.subject ?? '',
    from: list(mail.from)[0] ?? null,
    to: list(mail.to),
    cc: list(mail.cc),
    date: mail.date?.toISOString() ?? null,
    messageId: mail.messageId ?? null,
    html,
    // What a viewer shows: without the open pixel and with links at their destinations, so that
    // looking at a captured message records no open and no click (the raw MIME keeps them).
    displayHtml:
      html === null ? null : removeTracking(html, { secret: ctx.secret, publicUrl: ctx.config.publicUrl, accountId }),
    text: mail.text ?? null,
    attachments: mail.attachments.map((a) => ({
      filename: a.filename ?? null,
      contentType: a.contentType,
      size: a.size,
      contentId: a.contentId ?? null,
      disposition: a.contentDisposition,
    })),
  };
}

export async function messageRaw(ctx: Context, accountId: string, id: string): Promise<Buffer> {
  const raw = await findRaw(ctx.db, accountId, id);
  if (raw === undefined) throw notFound(`raw MIME of message ${id} (only captured and sandbox mail keeps it)`);
  return raw;
}
