// MIME composition. A message to one address with no attachments and no copies (every mailing
// message, most transactional ones) goes through our lean writer (bulk-mime.ts, ~30 µs); anything
// else through nodemailer's MailComposer (~1 ms): RFC 2047 headers, quoted-printable/base64
// bodies, inline images by cid:, attachments. Both get a text part derived from HTML when there is none.
import MailComposer from 'nodemailer/lib/mail-composer';
import { composeBulkMessage } from './bulk-mime.ts';
import type { Address, TransmissionContent } from '../domain/transmission-content.ts';
import type { RenderedMessage } from '../domain/render.ts';
import { deriveText } from '../domain/html-text.ts';

export interface ComposeInput {
  content: TransmissionContent;
  rendered: RenderedMessage;
  /** The headers' To: for a `to` recipient, that recipient; for cc/bcc copies, the primary recipients. */
  to: Address[];
  messageId: string; // without angle brackets
  date: Date;
  extraHeaders?: Array<{ name: string; value: string }>;
}

const fmt = (a: Address) => (a.name ? { name: a.name, address: a.email } : a.email);

export async function composeMessage(input: ComposeInput): Promise<Buffer> {
  const { content, rendered } = input;
  const text = rendered.text ?? (rendered.html !== null ? deriveText(rendered.html) : null);
  const headers = [...content.headers, ...(input.extraHeaders ?? [])];
  if (input.to.length === 1 && content.cc.length === 0 && content.attachments.length === 0) {
    return composeBulkMessage({
      from: content.from,
      to: input.to[0],
      replyTo: content.replyTo,
      subject: rendered.subject,
      messageId: input.messageId,
      date: input.date,
      headers,
      html: rendered.html,
      text: text ?? '',
    });
  }
  const composer = new MailComposer({
    from: fmt(content.from),
    to: input.to.map(fmt),
    cc: content.cc.length ? content.cc.map(fmt) : undefined,
    replyTo: content.replyTo.length ? content.replyTo.map(fmt) : undefined,
    subject: rendered.subject,
    html: rendered.html ?? undefined,
    text: text ?? undefined,
    messageId: `<${input.messageId}>`,
    date: input.date,
    headers: headers.map((h) => ({ key: h.name, value: h.value })),
    attachments: content.attachments.map((a) => ({
      filename: a.filename,
      content: a.value,
      encoding: 'base64',
      contentType: a.mimeType,
      cid: a.contentId,
      contentDisposition: a.disposition,
    })),
    // Bcc never appears in the headers; the envelope alone carries it.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}
