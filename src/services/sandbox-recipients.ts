// Authorized sandbox recipients (/v1/sandbox/recipients) and their consent (/p/consent/{token}).
// Adding an address sends it a consent mail with a link; the address stays "unverified" until
// the person behind it presses "Give consent" on that page (a POST: opening the link changes
// nothing, so mail scanners cannot consent for anyone). What consent changes: sandbox sends to a
// verified recipient are delivered for real instead of captured (services/sandbox.ts).
//
// Decisions where the spec is silent:
// - Shapes follow Posthorn's extensions: string ids, ISO-8601 times, lists as {count, data}.
// - An address is listed once per account: adding it again answers the existing entry (200) and,
//   while it is unverified, sends a fresh consent mail (a new link; the old one stops working).
// - The consent mail is system mail: delivered for real (never captured), not held back by the
//   sending limits, and from noreply@ the public host, like the opt-in mails.
// - A consent link works for 7 days; removing the recipient ends its consent at once.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from '../context.ts';
import { ServiceError, notFound } from './errors.ts';
import { isValidEmail } from '../domain/email-address.ts';
import { newId } from '../domain/ids.ts';
import type { TransmissionContent } from '../domain/transmission-content.ts';
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';
import { queueSystemMail } from './system-mail.ts';
import * as store from '../store/sandbox-recipients.ts';
import type { SandboxRecipientRow } from '../store/sandbox-recipients.ts';

export const CONSENT_LINK_LIFETIME_MS = 7 * 24 * 3600_000;

export interface SandboxRecipientView {
  id: string;
  email: string;
  status: 'unverified' | 'verified';
  consentedAt: string | null;
  consentLinkExpiresAt: string;
  createdAt: string;
}

export function recipientView(r: SandboxRecipientRow): SandboxRecipientView {
  return {
    id: r.id,
    email: r.email,
    status: r.status === 'verified' ? 'verified' : 'unverified',
    consentedAt: r.consented_at === null ? null : new Date(Number(r.consented_at)).toISOString(),
    consentLinkExpiresAt: new Date(Number(r.consent_expires_at)).toISOString(),
    createdAt: new Date(Number(r.created_at)).toISOString(),
  };
}

// The link's token: a random nonce (kept with the recipient) and its HMAC under the installation
// secret, so a forged token is refused before the store is asked and the link names no id.
const mac = (secret: string, nonce: string) =>
  createHmac('sha256', secret).update(`sandbox-consent:${nonce}`).digest('base64url').slice(0, 32);

export function consentToken(secret: string, nonce: string): string {
  return `${nonce}.${mac(secret, nonce)}`;
}

function nonceOf(secret: string, token: string): string | null {
  const m = /^([A-Za-z0-9_-]{24})\.([A-Za-z0-9_-]{32})$/.exec(token);
  if (!m) return null;
  const [, nonce = '', signature = ''] = m;
  const expected = Buffer.from(mac(secret, nonce));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given) ? nonce : null;
}

const newNonce = () => randomBytes(18).toString('base64url');

export async function listSandboxRecipients(ctx: Context, accountId: string, page: number, size: number) {
  const { count, rows } = await store.listSandboxRecipients(ctx.db, accountId, (page - 1) * size, size);
  return { count, data: rows.map(recipientView) };
}

export async function getSandboxRecipient(ctx: Context, accountId: string, id: string): Promise<SandboxRecipientView> {
  const r = await store.findSandboxRecipient(ctx.db, accountId, id);
  if (!r) throw notFound(`sandbox recipient ${id}`);
  return recipientView(r);
}

/** Adds the address (or answers its entry) and sends the consent mail; `created` says which. */
export async function addSandboxRecipient(
  ctx: Context,
  accountId: string,
  input: { email?: unknown },
): Promise<{ recipient: SandboxRecipientView; created: boolean }> {
  if (input.email === undefined || input.email === null || input.email === '')
    throw new ServiceError('required', 'email is required', 'email');
  const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : '';
  if (!isValidEmail(email))
    throw new ServiceError('invalid_email', `"${email.slice(0, 100)}" is not a valid email address`, 'email');
  const now = ctx.clock();
  const nonce = newNonce();
  const row: SandboxRecipientRow = {
    id: newId(),
    account_id: accountId,
    email,
    status: 'unverified',
    consent_nonce: nonce,
    consent_expires_at: now + CONSENT_LINK_LIFETIME_MS,
    consented_at: null,
    created_at: now,
  };
  const created = await ctx.db.transaction().execute(async (trx) => {
    if (await store.insertSandboxRecipient(trx, row)) {
      await queueConsentMail(ctx, trx, accountId, email, nonce, now);
      return true;
    }
    const existing = await store.findSandboxRecipientByEmail(trx, accountId, email);
    if (existing && existing.status === 'unverified') {
      await store.renewConsentLink(trx, existing.id, nonce, now + CONSENT_LINK_LIFETIME_MS);
      await queueConsentMail(ctx, trx, accountId, email, nonce, now);
    }
    return false;
  });
  const stored = await store.findSandboxRecipientByEmail(ctx.db, accountId, email);
  if (!stored) throw notFound(`sandbox recipient ${email}`); // removed in between
  return { recipient: recipientView(stored), created };
}

export async function removeSandboxRecipient(ctx: Context, accountId: string, id: string): Promise<void> {
  if (!(await store.deleteSandboxRecipient(ctx.db, accountId, id))) throw notFound(`sandbox recipient ${id}`);
}

/** DELETE /v1/sandbox/recipients?email=…: the same by address. */
export async function removeSandboxRecipientByEmail(ctx: Context, accountId: string, email: string): Promise<string> {
  const r = await store.findSandboxRecipientByEmail(ctx.db, accountId, email.trim().toLowerCase());
  if (!r) throw notFound(`sandbox recipient ${email.slice(0, 100)}`);
  await removeSandboxRecipient(ctx, accountId, r.id);
  return r.id;
}

/** What the consent page shows for a link; not_found for a forged, expired or withdrawn one. */
export async function consentRequest(ctx: Context, token: string): Promise<{ email: string; verified: boolean }> {
  const r = await recipientOfToken(ctx, token);
  return { email: r.email, verified: r.status === 'verified' };
}

/** The page's button: the recipient consents (a second press changes nothing). */
export async function giveConsent(ctx: Context, token: string): Promise<{ email: string }> {
  const r = await recipientOfToken(ctx, token);
  await store.markConsented(ctx.db, r.id, ctx.clock());
  return { email: r.email };
}

async function recipientOfToken(ctx: Context, token: string): Promise<SandboxRecipientRow> {
  const nonce = nonceOf(ctx.secret, token);
  const r = nonce ? await store.findByConsentNonce(ctx.db, nonce) : undefined;
  if (!r || (r.status !== 'verified' && Number(r.consent_expires_at) < ctx.clock())) throw notFound('consent link');
  return r;
}

export function consentUrl(ctx: Context, nonce: string): string {
  return `${ctx.config.publicUrl.replace(/\/$/, '')}/p/consent/${consentToken(ctx.secret, nonce)}`;
}

async function queueConsentMail(
  ctx: Context,
  trx: Transaction<Database>,
  accountId: string,
  email: string,
  nonce: string,
  now: number,
): Promise<void> {
  const url = consentUrl(ctx, nonce);
  const host = new URL(ctx.config.publicUrl).hostname;
  const content: TransmissionContent = {
    from: { email: `noreply@${host}`, name: 'Posthorn sandbox' },
    to: [{ email }],
    cc: [],
    replyTo: [],
    subject: 'May we send you test mail from a sandbox?',
    html: null,
    text:
      `Someone added {{email}} as a recipient of test mail sent from a Posthorn sandbox (${host}).\n\n` +
      `If you agree to receive that test mail, open this link and press "Give consent":\n{{{consentUrl}}}\n\n` +
      `If you did not expect this, ignore this mail: without your consent no test mail is delivered to you.\n`,
    templateId: null,
    headers: [{ name: 'Auto-Submitted', value: 'auto-generated' }],
    attachments: [],
    substitutionData: { consentUrl: url, email },
    metadata: { posthorn: 'sandbox-consent' },
    options: { clickTracking: false, openTracking: false, transactional: true, sandbox: false },
    campaignId: null,
    labels: ['sandbox-consent'],
  };
  await queueSystemMail(trx, { accountId, content, subject: content.subject, recipient: email, now });
}
