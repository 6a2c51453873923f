// Mailings: create, read, list, change and delete. Only drafts and scheduled mailings change or
// go away (a mailing that started keeps what it was sent with). Templates are checked when saved,
// so a mailing that cannot render is a 422 now, never a half-rendered mail later.
//
// Decisions where the spec is silent:
// - `status`, `scheduledAt`, `sentAt` are read-only here: POST …/send, …/schedule and the
//   pause/resume/cancel actions move a mailing through its life.
// - `subscriberGroupIds` and `channelId` must name groups and a channel of the account (422);
//   `templateId` must name a template of the account; its subject/html/text are used at send time
//   for whatever the mailing leaves empty.
// - A change to a mailing in any other status than draft/scheduled is 423/1025 (locked).
// - `triggerKey` ([a-z0-9_.-]{1,64}) belongs to trigger mailings only (422 on any other type); it is
//   the key POST /triggerTypes/{key}/send names (src/services/trigger-mailings.ts).
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound, required } from './errors.ts';
import { parseListParams, type ListQuery, type Page } from './marketing-params.ts';
import type { FieldWhitelist } from '../domain/query-grammar.ts';
import type { SearchColumns } from '../store/query-compiler.ts';
import { MAILING_TYPES, allowedIn, refusal, type MailingAction } from '../domain/mailing-rules.ts';
import { compile, TemplateError } from '../domain/render.ts';
import { mailingTemplates } from '../domain/mailing-content.ts';
import { hasLineBreak, isValidEmail, normalizeEmail } from '../domain/email-address.ts';
import { isValidTriggerKey } from '../domain/trigger-mailings.ts';
import * as store from '../store/mailings.ts';
import type { MailingChanges, MailingRow } from '../store/mailings.ts';
import { findChannel } from '../store/channels.ts';
import { findGroup } from '../store/subscriber-groups.ts';
import { findTemplate } from '../store/templates.ts';

export interface MailingInput {
  name?: string;
  type?: string;
  senderName?: string | null;
  senderEmail?: string | null;
  replyTo?: string | null;
  subject?: string | null;
  preheader?: string | null;
  html?: string | null;
  text?: string | null;
  templateId?: string | null;
  languageIso?: string | null;
  channelId?: number | null;
  subscriberGroupIds?: number[] | null;
  tracking?: { opens?: boolean; clicks?: boolean } | null;
  customerFields?: Record<string, unknown> | null;
  triggerKey?: string | null;
}

export const MAILING_SEARCH: FieldWhitelist = {
  id: { type: 'integer' },
  name: { type: 'string' },
  type: { type: 'string' },
  status: { type: 'string' },
  channelId: { type: 'integer' },
  createdAt: { type: 'datetime' },
  updatedAt: { type: 'datetime' },
  scheduledAt: { type: 'datetime' },
  sentAt: { type: 'datetime' },
};
export const MAILING_SORTABLE = [
  'id',
  'name',
  'type',
  'status',
  'channelId',
  'createdAt',
  'updatedAt',
  'scheduledAt',
  'sentAt',
];
const MAILING_COLUMNS: SearchColumns = {
  id: 'mailings.id',
  name: 'mailings.name',
  type: 'mailings.type',
  status: 'mailings.status',
  channelId: 'mailings.channel_id',
  createdAt: 'mailings.created_at',
  updatedAt: 'mailings.updated_at',
  scheduledAt: 'mailings.scheduled_at',
  sentAt: 'mailings.sent_at',
};

const locked = (action: MailingAction, status: string) => new ServiceError('forbidden', refusal(action, status));

function singleLine(field: string, value: string | null | undefined, max: number): string | null {
  if (value === undefined || value === null) return null;
  const v = value.trim();
  if (hasLineBreak(v)) throw invalid(field, 'must not contain line breaks');
  if (v.length > max) throw invalid(field, `must be at most ${max} characters`);
  return v === '' ? null : v;
}

function email(field: string, value: string | null | undefined): string | null {
  const v = singleLine(field, value, 254);
  if (v === null) return null;
  if (!isValidEmail(v)) throw new ServiceError('invalid_email', `The ${field} must be a valid email address.`, field);
  return normalizeEmail(v);
}

function checkTemplate(field: string, source: string | null, kind: 'html' | 'text'): void {
  if (source === null) return;
  try {
    compile(source, field, kind);
  } catch (error) {
    if (error instanceof TemplateError)
      throw new ServiceError('template_error', `The ${field} is not a valid template: ${error.message}`, field);
    throw error;
  }
}

/** The columns a create or update sets from the fields it was given (checked against the account). */
async function columnsFrom(ctx: Context, accountId: string, input: MailingInput): Promise<MailingChanges> {
  const out: MailingChanges = {};
  if (input.name !== undefined) {
    const name = singleLine('name', input.name, 255);
    if (name === null) throw required('name');
    out.name = name;
  }
  if (input.type !== undefined) {
    if (!(MAILING_TYPES as readonly string[]).includes(input.type))
      throw invalid('type', `must be one of ${MAILING_TYPES.join(', ')}`);
    out.type = input.type;
  }
  if (input.senderName !== undefined) out.sender_name = singleLine('senderName', input.senderName, 255);
  if (input.senderEmail !== undefined) out.sender_email = email('senderEmail', input.senderEmail);
  if (input.replyTo !== undefined) out.reply_to = email('replyTo', input.replyTo);
  if (input.subject !== undefined) {
    out.subject = singleLine('subject', input.subject, 998);
    checkTemplate('subject', out.subject, 'text');
  }
  if (input.preheader !== undefined) {
    out.preheader = singleLine('preheader', input.preheader, 500);
    if (out.preheader)
      checkTemplate(
        'preheader',
        mailingTemplates({ subject: '', preheader: out.preheader, html: '', text: null }).html,
        'html',
      );
  }
  if (input.html !== undefined) {
    out.html = input.html === null || input.html === '' ? null : input.html;
    checkTemplate('html', out.html, 'html');
  }
  if (input.text !== undefined) {
    out.text = input.text === null || input.text === '' ? null : input.text;
    checkTemplate('text', out.text, 'text');
  }
  if (input.languageIso !== undefined) {
    if (input.languageIso !== null && !/^[a-z]{2}$/.test(input.languageIso))
      throw invalid('languageIso', 'must be a two-letter language code such as de or en');
    out.language_iso = input.languageIso;
  }
  if (input.templateId !== undefined) {
    if (input.templateId !== null && !(await findTemplate(ctx.db, accountId, input.templateId)))
      throw invalid('templateId', 'names no template of this account');
    out.template_id = input.templateId;
  }
  if (input.channelId !== undefined) {
    if (input.channelId !== null && !(await findChannel(ctx.db, accountId, input.channelId)))
      throw invalid('channelId', 'names no channel of this account');
    out.channel_id = input.channelId;
  }
  if (input.subscriberGroupIds !== undefined) {
    const ids = [...new Set(input.subscriberGroupIds ?? [])];
    if (ids.length > 100) throw invalid('subscriberGroupIds', 'may name at most 100 groups');
    for (const id of ids)
      if (!(await findGroup(ctx.db, accountId, id)))
        throw invalid('subscriberGroupIds', `names no subscriber group ${id} of this account`);
    out.subscriber_group_ids = JSON.stringify(ids);
  }
  if (input.tracking !== undefined && input.tracking !== null) {
    if (input.tracking.opens !== undefined) out.tracking_opens = input.tracking.opens ? 1 : 0;
    if (input.tracking.clicks !== undefined) out.tracking_clicks = input.tracking.clicks ? 1 : 0;
  }
  if (input.customerFields !== undefined) {
    const v = input.customerFields ?? {};
    if (typeof v !== 'object' || Array.isArray(v))
      throw invalid('customerFields', 'must be an object keyed by custom field id');
    out.customer_fields = JSON.stringify(v);
  }
  if (input.triggerKey !== undefined) {
    if (input.triggerKey !== null && !isValidTriggerKey(input.triggerKey))
      throw invalid('triggerKey', 'must be 1 to 64 characters of a-z, 0-9, _ . -');
    out.trigger_key = input.triggerKey;
  }
  return out;
}

/** Only a trigger mailing has a trigger key. */
function checkTriggerKey(type: string, triggerKey: string | null | undefined): void {
  if (triggerKey && type !== 'trigger') throw invalid('triggerKey', 'is only for mailings of type trigger');
}

export async function findMailingOr404(ctx: Context, accountId: string, id: number): Promise<MailingRow> {
  const m = await store.findMailing(ctx.db, accountId, id);
  if (!m) throw notFound('Mailing');
  return m;
}

export async function createMailing(ctx: Context, accountId: string, input: MailingInput): Promise<MailingRow> {
  if (input.name === undefined) throw required('name');
  const columns = await columnsFrom(ctx, accountId, input);
  checkTriggerKey(columns.type ?? 'standard', columns.trigger_key);
  const now = ctx.clock();
  const id = await store.insertMailing(ctx.db, {
    account_id: accountId,
    name: columns.name!,
    type: columns.type ?? 'standard',
    status: 'draft',
    subscriber_group_ids: '[]',
    tracking_opens: 0,
    tracking_clicks: 0,
    customer_fields: '{}',
    recipient_count: 0,
    fanout_cursor: 0,
    fanout_done: 0,
    ...columns,
    created_at: now,
    updated_at: now,
  });
  return findMailingOr404(ctx, accountId, id);
}

export async function listMailings(ctx: Context, accountId: string, query: ListQuery): Promise<Page<MailingRow>> {
  const params = parseListParams(query, MAILING_SEARCH, MAILING_SORTABLE);
  const spec = { ...params, dialect: ctx.dialect, columns: MAILING_COLUMNS };
  const { total, rows } = await store.listMailings(ctx.db, accountId, spec);
  return { total, rows, paging: params.paging };
}

export async function updateMailing(
  ctx: Context,
  accountId: string,
  id: number,
  input: MailingInput,
): Promise<MailingRow> {
  const current = await findMailingOr404(ctx, accountId, id);
  if (!allowedIn('edit', current.status)) throw locked('edit', current.status);
  const columns = await columnsFrom(ctx, accountId, input);
  checkTriggerKey(
    columns.type ?? current.type,
    columns.trigger_key === undefined ? current.trigger_key : columns.trigger_key,
  );
  if (columns.type === 'trigger' && current.type !== 'trigger' && current.status === 'scheduled')
    throw invalid('type', 'cannot become trigger while the mailing is scheduled; a trigger mailing has no send time');
  // The status is checked again in the UPDATE: a send that won the race keeps its content.
  if (
    !(await store.updateMailingIn(ctx.db, accountId, id, ['draft', 'scheduled'], {
      ...columns,
      updated_at: ctx.clock(),
    }))
  ) {
    const now = await findMailingOr404(ctx, accountId, id);
    throw locked('edit', now.status);
  }
  return findMailingOr404(ctx, accountId, id);
}

export async function deleteMailing(ctx: Context, accountId: string, id: number): Promise<void> {
  const current = await findMailingOr404(ctx, accountId, id);
  if (!allowedIn('delete', current.status)) throw locked('delete', current.status);
  if (!(await store.deleteMailingIn(ctx.db, accountId, id, ['draft', 'scheduled']))) {
    const now = await findMailingOr404(ctx, accountId, id);
    throw locked('delete', now.status);
  }
}
