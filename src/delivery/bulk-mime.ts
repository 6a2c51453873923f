// The MIME writer for messages to one recipient with no attachments and no copies (every mailing
// message, and most transactional ones): a text and/or an HTML body, a few extra headers. It
// writes the message as one string in a single pass and turns it into one Buffer; nodemailer's
// MailComposer (composer.ts, still used for attachments and cc) spends ~1 ms per message on a tree
// of stream nodes, random boundaries and per-body regex scans.
//
// Layout: From, To, Reply-To, Subject, Message-ID, Date, the extra headers in the given order,
// MIME-Version, Content-Type (+ Content-Transfer-Encoding for a single part); both bodies become
// multipart/alternative, text first (clients show the last part they can render). Bodies are
// quoted-printable UTF-8: mailing HTML is mostly ASCII, so QP stays readable and small.
import { domainToASCII } from 'node:url';
import libmime from 'libmime';
import type { Address } from '../domain/transmission-content.ts';
import { encodeQuotedPrintable } from '../domain/quoted-printable.ts';

export interface BulkMimeInput {
  from: Address;
  to: Address;
  replyTo: Address[];
  subject: string; // may contain non-ASCII; never CR/LF (the caller folds them to spaces)
  messageId: string; // without angle brackets
  date: Date;
  headers: Array<{ name: string; value: string }>; // extra headers, in order
  html: string | null;
  text: string | null; // at least one of html/text is non-null
}

const FOLD_AT = 78; // RFC 5322 2.1.1: SHOULD NOT exceed 78 characters
const LINE_LIMIT = 998; // RFC 5322 2.1.1: MUST NOT exceed 998 characters
// nodemailer's length for encoded-words, so every word stays a foldable unit well under 78.
const ENCODED_WORD_LENGTH = 52;

const QP_PART = 'charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n';

/** The whole message, CRLF line endings, header block then body; ready for DKIM signing. */
export function composeBulkMessage(input: BulkMimeInput): Buffer {
  const { html, text } = input;
  if (html === null && text === null) throw new Error('a mailing message needs an HTML or a text body');

  let head = field('From', formatAddress(input.from));
  head += field('To', formatAddress(input.to));
  if (input.replyTo.length > 0) head += field('Reply-To', input.replyTo.map(formatAddress).join(', '));
  head += field('Subject', encodeSubject(input.subject));
  head += field('Message-ID', `<${noLineBreak(input.messageId, 'Message-ID')}>`);
  head += `Date: ${formatDate(input.date)}\r\n`;
  for (const h of input.headers) {
    const name = checkedName(h.name);
    const value = encodeExtraValue(h.value, name);
    // Like MailComposer: an empty header is left out rather than written as "Name: ".
    if (value.trim() !== '') head += field(name, value);
  }
  head += 'MIME-Version: 1.0\r\n';

  let message: string;
  if (html !== null && text !== null) {
    const boundary = boundaryFor(input.messageId);
    // The CRLF before each delimiter belongs to the delimiter (RFC 2046 5.1.1), so a body that
    // does not end in a line break is given back without one.
    message =
      `${head}Content-Type: multipart/alternative;\r\n boundary="${boundary}"\r\n\r\n` +
      `--${boundary}\r\nContent-Type: text/plain; ${QP_PART}\r\n${encodeQuotedPrintable(text)}\r\n` +
      `--${boundary}\r\nContent-Type: text/html; ${QP_PART}\r\n${encodeQuotedPrintable(html)}\r\n` +
      `--${boundary}--\r\n`;
  } else if (html !== null) {
    message = `${head}Content-Type: text/html; ${QP_PART}\r\n${encodeQuotedPrintable(html)}`;
  } else {
    message = `${head}Content-Type: text/plain; ${QP_PART}\r\n${encodeQuotedPrintable(text!)}`;
  }
  // UTF-8 only matters for a non-ASCII local part (left as is, as MailComposer does; it needs
  // SMTPUTF8); everything else is ASCII by now.
  return Buffer.from(message, 'utf8');
}

/**
 * Deterministic, so no random bytes per message. Quoted-printable writes every "=" as "=3D", and
 * its own "=" only starts an "=XX" escape or a soft break, so "=_" never occurs in a QP body and
 * no body line can ever equal a delimiter; the Message-ID part merely makes it recognisable.
 */
function boundaryFor(messageId: string): string {
  return `----=_Part_${messageId.replace(/[^A-Za-z0-9]/g, '').slice(0, 48)}`;
}

function noLineBreak(value: string, what: string): string {
  if (value.includes('\n') || value.includes('\r')) throw new Error(`${what} contains a line break (CR or LF)`);
  return value;
}

// RFC 5322 field names: printable ASCII except ":".
const FIELD_NAME = /^[!-9;-~]+$/;

function checkedName(name: string): string {
  if (!FIELD_NAME.test(name)) throw new Error(`invalid header name ${JSON.stringify(name)}`);
  return name;
}

// RFC 5322 date-time, always in UTC: "Wed, 25 Nov 2026 18:09:18 +0000".
function formatDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new Error('the message date is invalid');
  return date.toUTCString().replace('GMT', '+0000');
}

function formatAddress(address: Address): string {
  const email = asciiDomain(noLineBreak(address.email, 'an email address'));
  const name = address.name === undefined ? '' : noLineBreak(address.name, 'a display name');
  return name.trim() === '' ? email : `${displayName(name)} <${email}>`;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Punycodes an internationalised domain; the local part stays as it is (SMTPUTF8). */
function asciiDomain(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 0 || !NON_ASCII.test(email.slice(at + 1))) return email;
  const domain = domainToASCII(email.slice(at + 1));
  return domain ? `${email.slice(0, at)}@${domain}` : email;
}

/** Plain words as they are, other printable ASCII as a quoted string, anything else as encoded-words. */
function displayName(name: string): string {
  if (/^[\w ]*$/.test(name)) return name;
  if (/^[\x20-\x7e]*$/.test(name)) return `"${name.replace(/[\\"]/g, '\\$&')}"`;
  return encodedWords(name);
}

/**
 * Encoded-words for a subject with non-ASCII or control characters, one that would itself read
 * as an encoded-word ("=?"), or a word too long to fold within 998; ASCII otherwise as it is.
 */
function encodeSubject(subject: string): string {
  noLineBreak(subject, 'the subject');
  const needsWords = /[^\x20-\x7e\t]|=\?/.test(subject) || (subject.length > 900 && /[^ \t]{900}/.test(subject));
  return needsWords ? encodedWords(subject) : subject;
}

/** Extra headers are taken as they are unless they hold non-ASCII (as MailComposer does). */
function encodeExtraValue(value: string, name: string): string {
  noLineBreak(value, `header ${name}`);
  return NON_ASCII.test(value) ? encodedWords(value) : value;
}

/**
 * The whole value as encoded-words of at most 52 characters, separated by spaces (fold points),
 * each holding whole characters. MailComposer encodes whole values too (encodeWords with
 * encodeAll), since some clients drop the whitespace around a lone encoded-word.
 */
function encodedWords(value: string): string {
  return libmime.encodeWord(value, wordEncoding(value), ENCODED_WORD_LENGTH);
}

/** MailComposer's choice: Q when Latin letters outnumber other characters, B otherwise. */
function wordEncoding(value: string): 'Q' | 'B' {
  let latin = 0;
  let other = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) | 0x20; // lower-cases A–Z
    if (c >= 0x61 && c <= 0x7a) latin++;
    else if (value.charCodeAt(i) >= 0x80 || (value.charCodeAt(i) < 0x20 && value.charCodeAt(i) !== 0x09)) other++;
  }
  return other < latin ? 'Q' : 'B';
}

/** "Name: value" CRLF, folded where it is longer than 78. */
function field(name: string, value: string): string {
  const line = `${name}: ${value}`;
  return (line.length <= FOLD_AT ? line : fold(line, name.length + 1)) + '\r\n'; // name.length + 1: the space after ":"
}

const isSpace = (c: number) => c === 0x20 || c === 0x09;

/**
 * Folds before whitespace (the whitespace starts the continuation line, so unfolding restores the
 * value exactly): each line takes as much as fits in 78; a word longer than that gets a line of
 * its own. Only the first of a run of spaces is a fold point (so no folded line ends in
 * whitespace), and not one in trailing whitespace (no line may be whitespace only). A word that
 * cannot fit in 998 is an error. The space after "Name:" is used
 * only when that makes the next line fit: "List-Unsubscribe: <400-character URL>" stays together.
 */
function fold(line: string, afterColon: number): string {
  let end = line.length;
  while (end > 0 && isSpace(line.charCodeAt(end - 1))) end--;
  const points: number[] = [];
  for (let i = afterColon; i < end; i++) {
    if (isSpace(line.charCodeAt(i)) && !isSpace(line.charCodeAt(i - 1))) points.push(i);
  }
  let out = '';
  let start = 0;
  let k = 0; // the first fold point after start
  while (line.length - start > FOLD_AT && k < points.length) {
    let chosen = -1;
    while (k < points.length && points[k] - start <= FOLD_AT) chosen = k++;
    if (chosen === 0 && points[0] === afterColon) {
      const next = k < points.length ? points[k] : line.length;
      if (next - points[0] > FOLD_AT) chosen = -1;
    }
    if (chosen < 0) {
      if (k >= points.length) break;
      chosen = k++;
    }
    out += checkedLine(line.slice(start, points[chosen]), line) + '\r\n';
    start = points[chosen];
  }
  return out + checkedLine(line.slice(start), line);
}

function checkedLine(piece: string, line: string): string {
  if (piece.length > LINE_LIMIT)
    throw new Error(
      `header ${line.slice(0, line.indexOf(':'))} has a word too long to fold within ${LINE_LIMIT} characters`,
    );
  return piece;
}
