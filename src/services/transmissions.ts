// Accepting a transmission: validate, resolve the template, check sender, quotas and suppressions,
// then commit the transmission, one outbox row per recipient and their injection events in one
// transaction (shared with concurrent accepts by the commit batcher) before answering.
import { createHash } from 'node:crypto';
import type { Context } from '../context.ts';
import type { ApiKeyInfo } from './api-keys.ts';
import { ServiceError, invalid, required } from './errors.ts';
import { newId } from '../domain/ids.ts';
import { domainOf, hasLineBreak, HEADER_NAME, isOwnedHeader, isValidEmail } from '../domain/email-address.ts';
import type { Address, Attachment, TransmissionContent } from '../domain/transmission-content.ts';
import { findIdempotencyKey, saveIdempotencyKey } from '../store/idempotency.ts';
import { findTemplate } from '../store/templates.ts';
import { isDomainVerified } from '../store/domains.ts';
import { checkQuota, commitTransmission, planOutbox, type OutboxRecipient } from './transmission-commit.ts';
import { ensureMaySend } from './account-status.ts';
import { checkSendTemplates } from './send-templates-check.ts';

export interface RecipientInput {
  email: string;
  name?: string;
  substitutionData?: Record<string, unknown>;
  metadata?: Record<string, string>;
}

export interface TransmissionInput {
  from: { email: string; name?: string };
  to: RecipientInput[];
  cc?: Address[];
  bcc?: Address[];
  replyTo?: Address[] | Address;
  subject?: string;
  bodyText?: string;
  bodyHtml?: string;
  templateId?: string;
  substitutionData?: Record<string, unknown>;
  headers?: Array<{ name: string; value: string }> | Record<string, string>;
  attachments?: Array<Partial<Attachment> & { filename: string; value: string }>;
  attachment?: Array<Partial<Attachment> & { filename: string; value: string }>;
  metadata?: Record<string, string>;
  optionsAttributes?: { clickTracking?: boolean; openTracking?: boolean; transactional?: boolean; sandbox?: boolean };
  sendAt?: string;
  campaignId?: string;
  labels?: string[];
}

export interface AcceptResult {
  transmissionId: string;
  replayed: boolean;
}

const MAX_SUBSTITUTION_BYTES = 100 * 1024;
const MAX_SCHEDULE_MS = 30 * 24 * 3600 * 1000;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/;

function checkAddress(a: { email: string; name?: string }, field: string): Address {
  const email = a.email.trim();
  if (hasLineBreak(a.email) || !isValidEmail(email)) {
    throw new ServiceError(
      'invalid_email',
      `${field}.email "${a.email.slice(0, 100)}" is not a valid email address`,
      `${field}.email`,
    );
  }
  if (a.name !== undefined && hasLineBreak(a.name)) throw invalid(`${field}.name`, 'must not contain line breaks');
  return a.name ? { email, name: a.name } : { email };
}

function normalizeHeaders(input: TransmissionInput['headers']): Array<{ name: string; value: string }> {
  if (!input) return [];
  const list = Array.isArray(input) ? input : Object.entries(input).map(([name, value]) => ({ name, value }));
  return list.map((h, i) => {
    const field = `headers[${Array.isArray(input) ? i : JSON.stringify(h.name)}]`;
    if (typeof h.name !== 'string' || !HEADER_NAME.test(h.name))
      throw invalid(`${field}.name`, 'is not a valid header name');
    if (typeof h.value !== 'string') throw invalid(`${field}.value`, 'must be a string');
    if (hasLineBreak(h.value)) throw invalid(`${field}.value`, 'must not contain line breaks');
    if (isOwnedHeader(h.name))
      throw invalid(`${field}.name`, `"${h.name}" is set by Posthorn and cannot be overridden`);
    return { name: h.name, value: h.value };
  });
}

function normalizeAttachments(input: TransmissionInput): Attachment[] {
  const list = input.attachments ?? input.attachment ?? [];
  return list.map((a, i) => {
    const field = `attachments[${i}]`;
    if (!a.filename) throw required(`${field}.filename`);
    if (hasLineBreak(a.filename)) throw invalid(`${field}.filename`, 'must not contain line breaks');
    const value = (a.value ?? '').replace(/\s+/g, '');
    if (!value || !BASE64.test(value)) throw invalid(`${field}.value`, 'is not valid base64');
    const mimeType = a.mimeType ?? 'application/octet-stream';
    if (!MIME_TYPE.test(mimeType)) throw invalid(`${field}.mimeType`, 'is not a valid MIME type');
    if (a.contentId !== undefined && (hasLineBreak(a.contentId) || /[<>\s]/.test(a.contentId))) {
      throw invalid(`${field}.contentId`, 'must not contain spaces, angle brackets or line breaks');
    }
    const disposition = a.disposition ?? (a.contentId ? 'inline' : 'attachment');
    if (disposition !== 'inline' && disposition !== 'attachment')
      throw invalid(`${field}.disposition`, 'must be "attachment" or "inline"');
    return { filename: a.filename, mimeType, value, contentId: a.contentId, disposition };
  });
}

const SEND_AT_FORMAT =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})| (\d{2}):(\d{2}):(\d{2}))$/;

/** `YYYY-MM-DDTHH:MM:SSZ` (ISO, any offset) or the marketing `YYYY-MM-DD HH:MM:SS` (UTC). */
export function parseSendAt(value: string): number | null {
  const m = SEND_AT_FORMAT.exec(value);
  if (!m) return null;
  const [year, month, day] = [+m[1], +m[2], +m[3]];
  const iso = m[4] !== undefined;
  const [hour, minute, second] = iso ? [+m[4], +m[5], +(m[6] ?? 0)] : [+m[9], +m[10], +m[11]];
  // Date.UTC and Date.parse roll impossible dates over (Feb 30 becomes Mar 2, 24:00 the next day):
  // check the fields themselves so a typo is refused instead of silently moved.
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const ms = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const [oh, om] = [+zone.slice(1, 3), +zone.slice(4, 6)];
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}

/**
 * Hash of the body with object keys sorted: a retry that serializes its fields in another order is the same request.
 */
export function requestHash(body: unknown): string {
  return createHash('sha256')
    .update(
      JSON.stringify(body, (_key, value: unknown) =>
        value && typeof value === 'object' && !Array.isArray(value)
          ? sortedKeys(value as Record<string, unknown>)
          : value,
      ),
    )
    .digest('hex');
}

function sortedKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, value[k]]),
  );
}

const IDEMPOTENCY_SCOPE = 'transmissions';

export async function acceptTransmission(
  ctx: Context,
  key: ApiKeyInfo,
  input: TransmissionInput,
  idempotencyKey?: string,
): Promise<AcceptResult> {
  const now = ctx.clock();
  const idemSince = now - ctx.config.idempotencyTtlSeconds * 1000;
  const hash = idempotencyKey ? requestHash(input) : '';
  if (idempotencyKey) {
    const previous = await findIdempotencyKey(ctx.db, key.accountId, IDEMPOTENCY_SCOPE, idempotencyKey, idemSince);
    if (previous) return replay(previous.request_hash, hash, previous.response_body);
  }

  const prepared = await prepare(ctx, key, input, now);
  const { content, recipients, sendAt, sandbox } = prepared;
  const transmissionId = newId();

  const { rows, events } = await planOutbox(ctx, {
    transmissionId,
    accountId: key.accountId,
    recipients,
    metadata: content.metadata,
    transactional: content.options.transactional,
    sandbox,
    dueAt: sendAt ?? now,
    now,
  });
  const response = JSON.stringify({ message: 'Transmission received', transmissionId });

  // A concurrent request with the same key may commit first. The work then writes nothing and
  // reports the race instead of throwing: a throw would roll back the whole shared commit batch.
  const committed = await ctx.batcher.run(async (trx, bulk) => {
    if (idempotencyKey) {
      const saved = await saveIdempotencyKey(
        trx,
        {
          account_id: key.accountId,
          scope: IDEMPOTENCY_SCOPE,
          key: idempotencyKey,
          request_hash: hash,
          response_status: 200,
          response_body: response,
          created_at: now,
        },
        idemSince,
      );
      if (!saved) return false;
    }
    await commitTransmission(ctx, key, trx, bulk, { transmissionId, content, rows, events, sendAt, now });
    return true;
  });
  if (!committed && idempotencyKey) {
    // Answer as the request that won did.
    const previous = await findIdempotencyKey(ctx.db, key.accountId, IDEMPOTENCY_SCOPE, idempotencyKey, idemSince);
    if (!previous) throw new Error('idempotency key vanished between insert and read');
    return replay(previous.request_hash, hash, previous.response_body);
  }
  return { transmissionId, replayed: false };
}

function replay(storedHash: string, hash: string, body: string): AcceptResult {
  if (storedHash !== hash) {
    throw new ServiceError('conflict', 'Idempotency-Key was already used with a different request body');
  }
  return { transmissionId: (JSON.parse(body) as { transmissionId: string }).transmissionId, replayed: true };
}

async function prepare(ctx: Context, key: ApiKeyInfo, input: TransmissionInput, now: number) {
  ensureMaySend(key.accountStatus);
  if (!input.from?.email) throw required('from.email');
  const from = checkAddress(input.from, 'from');
  if (!input.to?.length) throw required('to');
  const to = input.to.map((r, i) => ({ ...r, ...checkAddress(r, `to[${i}]`) }));
  const cc = (input.cc ?? []).map((r, i) => checkAddress(r, `cc[${i}]`));
  const bcc = (input.bcc ?? []).map((r, i) => checkAddress(r, `bcc[${i}]`));
  const total = to.length + cc.length + bcc.length;
  if (total > ctx.config.maxRecipients) {
    throw new ServiceError(
      'too_many_recipients',
      `a transmission may have at most ${ctx.config.maxRecipients} recipients (to, cc and bcc together), got ${total}`,
    );
  }
  const replyToList = input.replyTo === undefined ? [] : Array.isArray(input.replyTo) ? input.replyTo : [input.replyTo];
  const replyTo = replyToList.map((r, i) => checkAddress(r, `replyTo[${i}]`));

  let subject = input.subject;
  let html = input.bodyHtml ?? null;
  let text = input.bodyText ?? null;
  if (input.templateId !== undefined) {
    const template = await findTemplate(ctx.db, key.accountId, input.templateId);
    if (!template)
      throw new ServiceError('unknown_template', `template "${input.templateId}" does not exist`, 'templateId');
    subject = subject ?? template.subject ?? undefined;
    if (html === null && text === null) {
      html = template.html;
      text = template.text;
    }
  }
  if (subject === undefined || subject === '') throw required('subject');
  if (hasLineBreak(subject)) throw invalid('subject', 'must not contain line breaks');
  if (html === null && text === null) throw required('bodyHtml, bodyText or templateId');

  const substitutionData = input.substitutionData ?? {};
  if (Buffer.byteLength(JSON.stringify(substitutionData)) > MAX_SUBSTITUTION_BYTES) {
    throw invalid('substitutionData', 'must be at most 100 KB when serialized');
  }
  const headers = normalizeHeaders(input.headers);
  const attachments = normalizeAttachments(input);
  const labels = input.labels ?? [];
  if (labels.some((l) => hasLineBreak(l))) throw invalid('labels', 'must not contain line breaks');

  let sendAt: number | null = null;
  if (input.sendAt !== undefined) {
    sendAt = parseSendAt(input.sendAt);
    if (sendAt === null) throw invalid('sendAt', 'must be YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD HH:MM:SS');
    if (sendAt > now + MAX_SCHEDULE_MS) throw invalid('sendAt', 'must be at most 30 days ahead');
    if (sendAt <= now) sendAt = null;
  }

  const opts = input.optionsAttributes ?? {};
  const sandbox = key.environment === 'sandbox' || opts.sandbox === true;
  const content: TransmissionContent = {
    from,
    to: to.map((r) => (r.name ? { email: r.email, name: r.name } : { email: r.email })),
    cc,
    replyTo,
    subject,
    html,
    text,
    templateId: input.templateId ?? null,
    headers,
    attachments,
    substitutionData,
    metadata: input.metadata ?? {},
    options: {
      clickTracking: opts.clickTracking ?? false,
      openTracking: opts.openTracking ?? false,
      transactional: opts.transactional ?? true,
      sandbox,
    },
    campaignId: input.campaignId ?? null,
    labels,
  };

  // A template that does not parse, or does not render for some recipient within the budget, fails
  // now (422), never as a bounced or half-rendered mail later.
  await checkSendTemplates(ctx, {
    templates: content,
    shared: substitutionData,
    // Copies (cc, bcc) render with the shared data alone.
    own: [...to.map((r) => r.substitutionData), ...(cc.length + bcc.length > 0 ? [undefined] : [])],
    recipientField: (i) => (i < to.length ? `to[${i}].substitutionData` : 'substitutionData'),
  });

  if (!sandbox && ctx.config.delivery !== 'capture' && ctx.config.requireVerifiedDomain) {
    if (!(await isDomainVerified(ctx.db, key.accountId, domainOf(from.email)))) {
      throw new ServiceError(
        'domain_unverified',
        `sending domain "${domainOf(from.email)}" is not a verified sending domain of this account`,
        'from.email',
      );
    }
  }

  // Early answer for an account already at its limit; the check that holds is repeated in the commit.
  await checkQuota(ctx, ctx.db, key.accountId, { messages: total, sandbox: sandbox ? total : 0 }, now);

  const recipients: OutboxRecipient[] = [
    ...to.map((r) => ({
      address: r.name ? { email: r.email, name: r.name } : { email: r.email },
      type: 'to' as const,
      data: r.substitutionData || r.metadata ? { substitutionData: r.substitutionData, metadata: r.metadata } : null,
    })),
    ...cc.map((address) => ({ address, type: 'cc' as const, data: null })),
    ...bcc.map((address) => ({ address, type: 'bcc' as const, data: null })),
  ];
  return { content, recipients, sendAt, sandbox };
}
