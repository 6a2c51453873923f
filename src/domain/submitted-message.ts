// What Posthorn reads from, and changes in, a message submitted over SMTP before it is stored.
// The message keeps its own MIME: only the X-MT-* option headers and Bcc (a blind copy must not
// show who else got it, as every MTA's submission service does) are removed, and a Date is added
// when the message has none. The Message-ID, when missing, is added per recipient at send time.
import addressparser from 'nodemailer/lib/addressparser';
import libmime from 'libmime';
import { countFields, headerValue, parseHead, rewriteHead, type MimeHead } from './mime-head.ts';
import { isOptionHeader, parseOptionHeaders, type SubmissionOptions } from './smtp-option-headers.ts';
import { isValidEmail } from './email-address.ts';

export class MessageFormatError extends Error {
  constructor(
    readonly header: string,
    why: string,
  ) {
    super(`${header} ${why}`);
  }
}

export interface SubmittedMessage {
  /** The message as it is stored and later sent (before the per-recipient Message-ID and DKIM). */
  mime: Buffer;
  from: { email: string; name?: string };
  subject: string;
  /** The message's own Message-ID (without angle brackets), null when it has none. */
  messageId: string | null;
  options: SubmissionOptions;
}

/** Reads and prepares a submitted message; throws MessageFormatError or OptionHeaderError naming the header. */
export function prepareSubmittedMessage(raw: Buffer, now: Date): SubmittedMessage {
  const head = parseHead(raw);
  const options = parseOptionHeaders(head.fields);
  const from = readFrom(head);
  const prepend = countFields(head, 'date') === 0 ? [`Date: ${rfc5322Date(now)}`] : [];
  const mime = rewriteHead(raw, head, {
    drop: (f) => f.key === 'bcc' || isOptionHeader(f.name),
    prepend,
  });
  const messageId = headerValue(head, 'message-id');
  return {
    mime,
    from,
    subject: decodeText(headerValue(head, 'subject') ?? ''),
    messageId: messageId ? messageId.replace(/^<|>$/g, '') || null : null,
    options,
  };
}

function readFrom(head: MimeHead): { email: string; name?: string } {
  const count = countFields(head, 'from');
  if (count === 0) throw new MessageFormatError('From', 'is missing: the message needs a From header');
  if (count > 1) throw new MessageFormatError('From', 'is given more than once');
  const value = utf8(headerValue(head, 'from')!);
  const list = addressparser(value, { flatten: true });
  if (list.length !== 1) throw new MessageFormatError('From', 'must hold exactly one address');
  const { address, name } = list[0];
  if (!isValidEmail(address))
    throw new MessageFormatError('From', `"${address.slice(0, 100)}" is not a valid email address`);
  const decodedName = name ? decodeText(name) : '';
  return decodedName ? { email: address, name: decodedName } : { email: address };
}

/** Header text as a person reads it: UTF-8 bytes (SMTPUTF8) and RFC 2047 encoded-words decoded. */
function decodeText(value: string): string {
  const text = utf8(value);
  return text.includes('=?') ? libmime.decodeWords(text) : text;
}

function utf8(latin1: string): string {
  return /[\x80-\xff]/.test(latin1) ? Buffer.from(latin1, 'latin1').toString('utf8') : latin1;
}

/** RFC 5322 date-time in UTC: `Thu, 03 Dec 2026 07:42:53 +0000`. */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}
