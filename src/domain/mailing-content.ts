// What a mailing's messages are made of, without I/O: the templates (with the preheader placed
// where inboxes read it), the per-recipient data the templates see, and the bulk-mail headers.
import { escapeHtml } from './html-escape.ts';
import { sealToken, TOKEN_LIFETIME_MS, type TokenPurpose } from './tokens.ts';

export interface MailingTemplatesInput {
  subject: string | null;
  preheader: string | null;
  html: string | null;
  text: string | null;
}

/**
 * The Liquid sources to compile. The preheader (the inbox's preview line) becomes a hidden block
 * right after <body> (or first, without one); it is a template too, so it may use variables.
 */
export function mailingTemplates(m: MailingTemplatesInput): {
  subject: string;
  html: string | null;
  text: string | null;
} {
  let html = m.html;
  if (html !== null && m.preheader && m.preheader.trim()) {
    // Escaped as text, but its {{ }} placeholders stay Liquid.
    const block = `<div style="display:none;max-height:0;overflow:hidden;mso-hide:all" aria-hidden="true">${escapeHtml(
      m.preheader,
    )
      .replace(/&#39;/g, "'")
      .replace(/&quot;/g, '"')}</div>`;
    const body = /<body[^>]*>/i.exec(html);
    html = body
      ? html.slice(0, body.index + body[0].length) + block + html.slice(body.index + body[0].length)
      : block + html;
  }
  return { subject: m.subject ?? '', html, text: m.text };
}

export interface RecipientSubscriber {
  id: number;
  email: string | null;
  gender_id: number | null;
  language_iso: string | null;
  title: string | null;
  firstname: string | null;
  lastname: string | null;
  company: string | null;
  street: string | null;
  postcode: string | null;
  city: string | null;
  phone_number: string | null;
  birthday: string | null;
}

export interface RecipientLinks {
  unsubscribeUrl: string;
  preferencesUrl: string;
  webViewUrl: string;
}

/** The mailing fields a recipient's signed links carry. */
export interface LinkedMailing {
  id: number;
  account_id: string;
  channel_id: number | null;
}

/**
 * The three links every mailing carries, signed for this subscriber and mailing. A link no template
 * uses may be skipped (`wanted`): each is an AES-GCM seal, made for every message of a mailing.
 */
export function signedRecipientLinks(
  keys: { secret: string; publicUrl: string },
  now: number,
  mailing: LinkedMailing,
  subscriberId: number,
  wanted: { preferences: boolean; view: boolean } = { preferences: true, view: true },
): RecipientLinks {
  const base = `${keys.publicUrl}/p`;
  const token = (purpose: TokenPurpose) =>
    sealToken(keys.secret, {
      purpose,
      accountId: mailing.account_id,
      subscriberId,
      channelId: mailing.channel_id,
      mailingId: mailing.id,
      exp: now + TOKEN_LIFETIME_MS[purpose],
    });
  return {
    unsubscribeUrl: `${base}/unsubscribe/${token('unsubscribe')}`,
    preferencesUrl: wanted.preferences ? `${base}/preferences/${token('preferences')}` : '',
    webViewUrl: wanted.view ? `${base}/view/${token('view')}` : '',
  };
}

/**
 * What fan-out stores on a mailing's outbox row: the subscriber as selected and its custom field
 * values (a snapshot: the message says what was true when it was queued). The links, the field
 * names and the mailing's own variables are the same for every recipient or cheap to make, so they
 * are added when the message is built instead of being stored a million times (~1 KB a row).
 */
export interface StoredRecipient {
  s: RecipientSubscriber;
  f: Array<[number, string | null]>;
}

export function storedRecipient(
  s: RecipientSubscriber,
  fieldValues: ReadonlyMap<number, string | null> | undefined,
): StoredRecipient {
  return { s, f: fieldValues ? [...fieldValues] : [] };
}

/**
 * The variables a mailing's templates see for one subscriber: the subscriber's fields (top level
 * and under `subscriber`), `customerFields` keyed by field id and by each of the field's names,
 * the links, and the mailing's own id, name and custom fields under `mailing`.
 */
export function recipientVariables(
  s: RecipientSubscriber,
  fieldValues: ReadonlyMap<number, string | null> | undefined,
  fieldNames: ReadonlyMap<number, string[]>,
  links: RecipientLinks,
  mailing: { id: number; name: string; customerFields: Record<string, unknown> },
): Record<string, unknown> {
  const subscriber = {
    id: s.id,
    email: s.email ?? '',
    genderId: s.gender_id,
    languageIso: s.language_iso ?? '',
    title: s.title ?? '',
    firstname: s.firstname ?? '',
    lastname: s.lastname ?? '',
    company: s.company ?? '',
    street: s.street ?? '',
    postcode: s.postcode ?? '',
    city: s.city ?? '',
    phoneNumber: s.phone_number ?? '',
    birthday: s.birthday ?? '',
  };
  const customerFields: Record<string, string> = {};
  for (const [id, value] of fieldValues ?? []) {
    const v = value ?? '';
    customerFields[String(id)] = v;
    for (const name of fieldNames.get(id) ?? []) if (!(name in customerFields)) customerFields[name] = v;
  }
  return {
    ...subscriber,
    subscriberId: s.id,
    subscriber: { ...subscriber, customerFields },
    customerFields,
    ...links,
    mailing,
  };
}

/**
 * `Channel name <channel-7.account.sending-domain>` (RFC 2919: a stable id per list). The name is
 * kept to plain words (atoms): quotes or non-ASCII would make the composer encode the whole header,
 * angle brackets included; a name with nothing plain left is left out.
 */
export function listIdHeader(accountId: string, channel: { id: number; name: string } | null, host: string): string {
  const safeAccount = accountId.replace(/[^A-Za-z0-9-]/g, '').slice(0, 40) || 'account';
  const safeHost = host.replace(/[^A-Za-z0-9.-]/g, '') || 'posthorn';
  const id = `${channel ? `channel-${channel.id}` : 'all'}.${safeAccount}.${safeHost}`;
  const name = (channel?.name ?? 'Newsletter')
    .replace(/[^A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+/g, ' ')
    .trim()
    .slice(0, 100);
  return name ? `${name} <${id}>` : `<${id}>`;
}

/** Feedback-ID for mailbox providers' loops: `mailing:account:bulk:posthorn`. */
export function mailingFeedbackId(mailingId: number, accountId: string): string {
  return `mailing-${mailingId}:${accountId}:bulk:posthorn`;
}
