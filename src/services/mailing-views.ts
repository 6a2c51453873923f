// A mailing seen by one person before or outside the real send: test sends (marked in the subject,
// sent as a one-off transmission so they count neither as recipients nor in the mailing's
// statistics), the preview for one subscriber, the web version behind {{webViewUrl}}, and the
// per-recipient list of a running or sent mailing.
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound } from './errors.ts';
import { parseListParams, type ListQuery, type Page } from './marketing-params.ts';
import type { FieldWhitelist } from '../domain/query-grammar.ts';
import { compileMessage, renderMessage, TemplateError, type RenderedMessage } from '../domain/render.ts';
import { checkSendTemplates } from './send-templates-check.ts';
import { mailingTemplates, type RecipientLinks } from '../domain/mailing-content.ts';
import { testSubject } from '../domain/mailing-rules.ts';
import { escapeHtml } from '../domain/html-escape.ts';
import { isValidEmail, normalizeEmail } from '../domain/email-address.ts';
import { openToken } from '../domain/tokens.ts';
import { newId } from '../domain/ids.ts';
import type { TransmissionContent } from '../domain/transmission-content.ts';
import * as store from '../store/mailings.ts';
import type { AudienceSubscriber, MailingRow } from '../store/mailings.ts';
import { subscriberExtras } from '../store/subscriber-groups.ts';
import { insertTransmission } from '../store/transmissions.ts';
import { insertMessages, newOutboxRow } from '../store/messages.ts';
import type { MessagesTable } from '../store/schema.ts';
import { checkQuota, reserveQuota } from './quota.ts';
import { sandboxFlags } from './sandbox.ts';
import { recordEvents, transmissionDimensions } from '../events/record-events.ts';
import { findMailingOr404 } from './mailings.ts';
import { resolveForSend } from './mailing-actions.ts';
import { mailingVariables, recipientLinks } from './mailing-audience.ts';

const MAX_TEST_EMAILS = 20;
const NO_LINKS: RecipientLinks = { unsubscribeUrl: '#', preferencesUrl: '#', webViewUrl: '#' };

/** Somebody who is not (or not yet) a subscriber: every field empty (previews, trigger sends to outsiders). */
export function sampleSubscriber(email: string | null): AudienceSubscriber {
  return {
    id: 0,
    email,
    gender_id: null,
    language_iso: null,
    title: null,
    firstname: null,
    lastname: null,
    company: null,
    street: null,
    postcode: null,
    city: null,
    phone_number: null,
    birthday: null,
  };
}

async function variablesFor(
  ctx: Context,
  m: MailingRow,
  s: AudienceSubscriber,
  links: RecipientLinks,
): Promise<Record<string, unknown>> {
  const [extras, names] = s.id
    ? await Promise.all([
        subscriberExtras(ctx.db, m.account_id, [s.id]),
        store.subscriberFieldNames(ctx.db, m.account_id),
      ])
    : [null, new Map<number, string[]>()];
  return mailingVariables(ctx, m, s, extras?.fieldValues.get(s.id), names, links);
}

function render(
  m: Pick<MailingRow, 'subject' | 'preheader' | 'html' | 'text'>,
  data: Record<string, unknown>,
): RenderedMessage {
  try {
    return renderMessage(compileMessage(mailingTemplates(m)), data);
  } catch (error) {
    if (error instanceof TemplateError) throw new ServiceError('template_error', error.message, error.part);
    throw error;
  }
}

/** The mailing rendered for one subscriber (or, without one, for an empty sample subscriber). */
export async function previewMailing(
  ctx: Context,
  accountId: string,
  id: number,
  subscriberId: number | null,
): Promise<RenderedMessage & { subscriberId: number | null }> {
  const m = await findMailingOr404(ctx, accountId, id);
  let s = sampleSubscriber(null);
  if (subscriberId !== null) {
    const found = await store.findAudienceSubscriber(ctx.db, accountId, subscriberId);
    if (!found) throw notFound('Subscriber');
    s = found;
  }
  const links = s.id ? recipientLinks(ctx, m, s.id) : NO_LINKS;
  return { ...render(m, await variablesFor(ctx, m, s, links)), subscriberId: s.id || null };
}

export interface TestSendResult {
  transmissionId: string;
  messages: Array<{ email: string; messageId: string }>;
}

/**
 * Sends the mailing to a few addresses, "[Test]" in the subject. An address of a subscriber sees
 * that subscriber's data; others see empty fields. One transmission, priority 0: somebody is
 * waiting for it.
 */
export async function testSendMailing(
  ctx: Context,
  accountId: string,
  id: number,
  emails: string[],
  opts: { sandbox: boolean } = { sandbox: false },
): Promise<TestSendResult> {
  if (emails.length === 0) throw invalid('emails', 'must name at least one address');
  if (emails.length > MAX_TEST_EMAILS) throw invalid('emails', `may name at most ${MAX_TEST_EMAILS} addresses`);
  emails.forEach((e, i) => {
    if (typeof e !== 'string' || !isValidEmail(e.trim()))
      throw new ServiceError('invalid_email', `The emails.${i} must be a valid email address.`, `emails.${i}`);
  });
  const m = await findMailingOr404(ctx, accountId, id);
  const resolved = { ...m, ...(await resolveForSend(ctx, m)) };
  const templates = mailingTemplates(resolved);
  const now = ctx.clock();
  const transmissionId = newId();
  const rows: MessagesTable[] = [];
  const addresses = [...new Set(emails.map((e) => normalizeEmail(e.trim())))];
  const sandboxFlag = await sandboxFlags(ctx, accountId, opts.sandbox, addresses);
  const recipientData: Array<Record<string, unknown>> = [];
  for (const raw of addresses) {
    const s = (await store.findAudienceSubscriberByEmail(ctx.db, accountId, raw)) ?? sampleSubscriber(raw);
    const data = await variablesFor(ctx, resolved, s, s.id ? recipientLinks(ctx, resolved, s.id) : NO_LINKS);
    recipientData.push(data);
    rows.push(
      newOutboxRow({
        id: newId(),
        account_id: accountId,
        transmission_id: transmissionId,
        recipient: raw,
        recipient_data: JSON.stringify({ substitutionData: data }),
        priority: 0,
        sandbox: sandboxFlag(raw),
        now,
      }),
    );
  }
  // A test that cannot render (or renders too slowly) fails here, not in the worker.
  await checkSendTemplates(ctx, {
    templates,
    shared: {},
    own: recipientData,
    recipientField: (i) => `emails.${i}`,
  });
  const from = resolved.sender_name
    ? { email: resolved.sender_email!, name: resolved.sender_name }
    : { email: resolved.sender_email! };
  const content: TransmissionContent = {
    from,
    to: [],
    cc: [],
    replyTo: resolved.reply_to ? [{ email: resolved.reply_to }] : [],
    subject: testSubject(templates.subject),
    html: templates.html,
    text: templates.text,
    templateId: null,
    headers: [{ name: 'Precedence', value: 'bulk' }],
    attachments: [],
    substitutionData: {},
    metadata: { posthorn: 'mailing-test', mailingId: String(m.id) },
    options: { clickTracking: false, openTracking: false, transactional: false, sandbox: opts.sandbox },
    campaignId: `mailing-${m.id}-test`,
    labels: ['mailing-test'],
  };
  const use = { messages: rows.length, sandbox: opts.sandbox ? rows.length : 0 };
  await checkQuota(ctx, ctx.db, accountId, use, now);
  await ctx.db.transaction().execute(async (trx) => {
    await reserveQuota(ctx, trx, accountId, use, now);
    await insertTransmission(trx, {
      id: transmissionId,
      account_id: accountId,
      api_key_id: null,
      from_email: from.email,
      from_name: resolved.sender_name,
      subject: content.subject,
      content: JSON.stringify(content),
      recipient_count: rows.length,
      sandbox: opts.sandbox ? 1 : 0,
      transactional: 0,
      campaign_id: content.campaignId,
      send_at: null,
      created_at: now,
    });
    await insertMessages(trx, rows);
    await recordEvents(
      trx,
      rows.map((r) => ({
        account_id: accountId,
        type: 'injection',
        message_id: r.id,
        transmission_id: transmissionId,
        mailing_id: null,
        recipient: r.recipient,
        data: JSON.stringify({ metadata: content.metadata }),
        created_at: now,
      })),
      { known: [[transmissionId, transmissionDimensions(from.email, content.labels)]] },
    );
  });
  return { transmissionId, messages: rows.map((r) => ({ email: r.recipient, messageId: r.id })) };
}

export const RECIPIENT_SEARCH: FieldWhitelist = {
  subscriberId: { type: 'integer' },
  email: { type: 'string', lowercase: true },
  status: { type: 'string' },
  createdAt: { type: 'datetime' },
  updatedAt: { type: 'datetime' },
};
export const RECIPIENT_SORTABLE = ['subscriberId', 'email', 'status', 'createdAt', 'updatedAt'];

export async function listMailingRecipients(
  ctx: Context,
  accountId: string,
  id: number,
  query: ListQuery,
): Promise<Page<MessagesTable>> {
  await findMailingOr404(ctx, accountId, id);
  const { search, sorting, paging } = parseListParams(query, RECIPIENT_SEARCH, RECIPIENT_SORTABLE);
  const { total, rows } = await store.listRecipients(ctx.db, ctx.dialect, accountId, id, search, sorting, paging);
  return { total, rows, paging };
}

/** The web version behind {{webViewUrl}}: the mailing's HTML for the token's subscriber, untracked. */
export async function webViewByToken(ctx: Context, token: string): Promise<{ html: string; subject: string }> {
  const payload = openToken(ctx.secret, token, 'view', ctx.clock());
  if (!payload || !payload.mailingId) throw notFound('link');
  const m = await store.findMailing(ctx.db, payload.accountId, payload.mailingId);
  const s = m && (await store.findAudienceSubscriber(ctx.db, payload.accountId, payload.subscriberId));
  if (!m || !s) throw notFound('link');
  const rendered = render(m, await variablesFor(ctx, m, s, recipientLinks(ctx, m, s.id)));
  return {
    subject: rendered.subject,
    html: rendered.html ?? `<!doctype html><meta charset="utf-8"><pre>${escapeHtml(rendered.text ?? '')}</pre>`,
  };
}
