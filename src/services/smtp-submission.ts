// The use cases of the SMTP submission surface: authenticate a connection (an API key as AUTH
// password, or an SMTP-IP key by the client's address), check a recipient, and accept a submitted
// message for its envelope recipients as one transmission with one outbox row per RCPT, committed
// through the same batcher as HTTP accepts before the server answers 250.
import type { Context } from '../context.ts';
import { authenticate, authenticateByAddress, type ApiKeyInfo } from './api-keys.ts';
import { ServiceError } from './errors.ts';
import { limitsFor } from './limits.ts';
import { checkQuota } from './transmission-commit.ts';
import { commitSubmission } from './submission-commit.ts';
import { newId } from '../domain/ids.ts';
import { domainOf, isValidEmail } from '../domain/email-address.ts';
import { prepareSubmittedMessage, MessageFormatError } from '../domain/submitted-message.ts';
import { OptionHeaderError } from '../domain/smtp-option-headers.ts';
import type { TransmissionContent } from '../domain/transmission-content.ts';
import { isDomainVerified } from '../store/domains.ts';
import { ensureMaySend } from './account-status.ts';

export type SmtpAuthResult =
  | { ok: true; key: ApiKeyInfo }
  | { ok: false; reason: 'locked'; retryAfterMs: number }
  | { ok: false; reason: 'invalid' | 'ip_not_allowed' | 'permission' };

/** AUTH PLAIN/LOGIN: the password is an API key with the send_smtp permission. */
export async function authenticateSmtp(ctx: Context, password: string, ip: string): Promise<SmtpAuthResult> {
  const limits = limitsFor(ctx);
  // A locked client is refused before its key is even looked at. SMTP has its own counter per
  // client IP, on the schedule of the HTTP surfaces (domain/brute-force.ts).
  const retryAfterMs = await limits.lockRemaining('smtp', ip);
  if (retryAfterMs > 0) return { ok: false, reason: 'locked', retryAfterMs };
  const result = await authenticate(ctx, password.trim(), ip);
  if (!result.ok) {
    if (result.reason !== 'ip_not_allowed') await limits.recordAuthFailure('smtp', ip);
    return { ok: false, reason: result.reason === 'ip_not_allowed' ? 'ip_not_allowed' : 'invalid' };
  }
  if (!result.key.permissions.includes('send_smtp')) return { ok: false, reason: 'permission' };
  return { ok: true, key: result.key };
}

/** The SMTP-IP key that authenticates this client address without AUTH, if any (see api-keys.ts). */
export async function authenticateSmtpAddress(ctx: Context, ip: string): Promise<ApiKeyInfo | null> {
  const key = await authenticateByAddress(ctx, ip);
  return key && key.permissions.includes('send_smtp') ? key : null;
}

/** MAIL FROM: the null sender, or a usable address (its domain is checked with the message's From at DATA). */
export function checkSmtpSender(address: string): void {
  if (address !== '' && !isValidEmail(address))
    throw new ServiceError('invalid_email', `"${address.slice(0, 100)}" is not a valid email address`, 'MAIL FROM');
}

/** RCPT TO: the address is usable and the account has room for one more message. */
export async function checkSmtpRecipient(ctx: Context, key: ApiKeyInfo, address: string, count: number) {
  ensureMaySend(key.accountStatus);
  if (!isValidEmail(address))
    throw new ServiceError('invalid_email', `"${address.slice(0, 100)}" is not a valid email address`, 'RCPT TO');
  if (count + 1 > ctx.config.maxRecipients)
    throw new ServiceError(
      'too_many_recipients',
      `a message may have at most ${ctx.config.maxRecipients} recipients`,
      'RCPT TO',
    );
  // Early answer for an account already at its limit; the check that holds runs in the commit.
  // (Whether the message is a sandbox one is known only from its headers, at DATA.)
  const sandbox = key.environment === 'sandbox' ? count + 1 : 0;
  await checkQuota(ctx, ctx.db, key.accountId, { messages: count + 1, sandbox }, ctx.clock());
}

export interface Submission {
  /** The envelope sender (MAIL FROM); '' for the null sender. */
  mailFrom: string;
  rcptTo: string[];
  /** The message as received (dot-unstuffed, CRLF). */
  raw: Buffer;
}

/** Accepts a submitted message; resolves with the transmission id once it is committed. */
export async function acceptSubmission(ctx: Context, key: ApiKeyInfo, submission: Submission): Promise<string> {
  ensureMaySend(key.accountStatus);
  const now = ctx.clock();
  let message;
  try {
    message = prepareSubmittedMessage(submission.raw, new Date(now));
  } catch (error) {
    if (error instanceof MessageFormatError || error instanceof OptionHeaderError)
      throw new ServiceError('invalid', error.message, error.header);
    throw error;
  }
  const { options } = message;
  const sandbox = key.environment === 'sandbox' || options.sandbox === true;
  const recipients = submission.rcptTo;
  if (recipients.length === 0) throw new ServiceError('required', 'the message has no recipients', 'RCPT TO');
  if (recipients.length > ctx.config.maxRecipients)
    throw new ServiceError('too_many_recipients', `a message may have at most ${ctx.config.maxRecipients} recipients`);

  if (!sandbox && ctx.config.delivery !== 'capture' && ctx.config.requireVerifiedDomain) {
    // The From header's domain signs the message (DKIM); the envelope sender's is checked too.
    await requireVerified(ctx, key, domainOf(message.from.email), 'From');
    if (submission.mailFrom && domainOf(submission.mailFrom) !== domainOf(message.from.email))
      await requireVerified(ctx, key, domainOf(submission.mailFrom), 'MAIL FROM');
  }
  await checkQuota(
    ctx,
    ctx.db,
    key.accountId,
    { messages: recipients.length, sandbox: sandbox ? recipients.length : 0 },
    now,
  );

  const transmissionId = newId();
  const transactional = options.transactional ?? true;
  const metadata = options.metadata ?? {};
  const labels = options.labels ?? [];
  const content: TransmissionContent = {
    source: 'smtp',
    from: message.from,
    to: [],
    cc: [],
    replyTo: [],
    subject: message.subject,
    html: null,
    text: null,
    templateId: null,
    headers: [],
    attachments: [],
    substitutionData: {},
    metadata,
    options: {
      openTracking: options.openTracking ?? false,
      clickTracking: options.clickTracking ?? false,
      transactional,
      sandbox,
    },
    campaignId: options.campaignId ?? null,
    labels,
  };
  await commitSubmission(ctx, {
    key: { id: key.id, accountId: key.accountId },
    plan: {
      transmissionId,
      accountId: key.accountId,
      recipients: recipients.map((email) => ({ address: { email }, type: 'to', data: null })),
      metadata,
      transactional,
      sandbox,
      dueAt: now,
      now,
    },
    content,
    mime: message.mime,
  });
  return transmissionId;
}

async function requireVerified(ctx: Context, key: ApiKeyInfo, domain: string, field: string): Promise<void> {
  if (await isDomainVerified(ctx.db, key.accountId, domain)) return;
  throw new ServiceError(
    'domain_unverified',
    `sending domain "${domain}" is not a verified sending domain of this account`,
    field,
  );
}

/** The key an earlier AUTH gave, as it is now: null once it was revoked or lost send_smtp. No lock counting. */
export async function currentSmtpKey(ctx: Context, password: string, ip: string): Promise<ApiKeyInfo | null> {
  const result = await authenticate(ctx, password.trim(), ip);
  return result.ok && result.key.permissions.includes('send_smtp') ? result.key : null;
}

/**
 * What the SMTP submission surface asks of the services, as one object: the calls above bound to a
 * context, so that the protocol code names no context and no store.
 */
export interface SubmissionService {
  authenticate(password: string, ip: string): Promise<SmtpAuthResult>;
  keyForAddress(ip: string): Promise<ApiKeyInfo | null>;
  currentKey(password: string, ip: string): Promise<ApiKeyInfo | null>;
  checkRecipient(key: ApiKeyInfo, address: string, count: number): Promise<void>;
  accept(key: ApiKeyInfo, submission: Submission): Promise<string>;
}

export function submissionService(ctx: Context): SubmissionService {
  return {
    authenticate: (password, ip) => authenticateSmtp(ctx, password, ip),
    keyForAddress: (ip) => authenticateSmtpAddress(ctx, ip),
    currentKey: (password, ip) => currentSmtpKey(ctx, password, ip),
    checkRecipient: (key, address, count) => checkSmtpRecipient(ctx, key, address, count),
    accept: (key, submission) => acceptSubmission(ctx, key, submission),
  };
}
