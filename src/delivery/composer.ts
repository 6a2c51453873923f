// MIME composition through nodemailer's MailComposer: RFC 2047 headers, quoted-printable/base64
// bodies, a text part derived from HTML when there is none, inline images by cid:, attachments.
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
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
  const composer = new MailComposer({
    from: fmt(content.from),
    to: input.to.map(fmt),
    cc: content.cc.length ? content.cc.map(fmt) : undefined,
    replyTo: content.replyTo.length ? content.replyTo.map(fmt) : undefined,
    subject: rendered.subject,
    html: rendered.html ?? undefined,
    text: rendered.text ?? (rendered.html !== null ? deriveText(rendered.html) : undefined),
    messageId: `<${input.messageId}>`,
    date: input.date,
    headers: [...content.headers, ...(input.extraHeaders ?? [])].map((h) => ({ key: h.name, value: h.value })),
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
