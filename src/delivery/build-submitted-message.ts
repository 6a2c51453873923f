// One recipient's copy of a message submitted over SMTP: the stored MIME as it arrived (less the
// X-MT-* headers and Bcc, plus a Date if it had none), with a Message-ID of its own when the sender
// gave none, the HTML parts rewritten for open/click tracking when asked, then DKIM-signed.
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { Joiner, Rewriter, Splitter } from 'mailsplit';
import { headerValue, parseHead, rewriteHead } from '../domain/mime-head.ts';
import type { Signer } from './dkim.ts';

export interface SubmittedSource {
  mime: Buffer;
  /** The message's own Message-ID (without angle brackets), or null. */
  messageId: string | null;
}

export function submittedSource(mime: Buffer): SubmittedSource {
  const id = headerValue(parseHead(mime), 'message-id');
  return { mime, messageId: id ? id.replace(/^<|>$/g, '') || null : null };
}

export interface SubmittedBuild {
  source: SubmittedSource;
  /** Used as `<id>` when the message has no Message-ID: the outbox row's id at the From domain. */
  fallbackMessageId: string;
  /** Rewrites one HTML part for this recipient (open pixel, tracked links); null: no tracking. */
  trackHtml: ((html: string) => string) | null;
  signer: Signer | null;
}

export async function buildSubmittedMessage(b: SubmittedBuild): Promise<{ raw: Buffer; messageId: string }> {
  let raw = b.source.mime;
  const messageId = b.source.messageId ?? b.fallbackMessageId;
  if (b.source.messageId === null) raw = rewriteHead(raw, parseHead(raw), { prepend: [`Message-ID: <${messageId}>`] });
  if (b.trackHtml) raw = await rewriteHtmlParts(raw, b.trackHtml);
  if (b.signer) raw = await b.signer(raw);
  return { raw, messageId };
}

/** Charsets whose bytes read as UTF-8 text; other ASCII-compatible ones are rewritten byte for byte (latin1). */
const UTF8 = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);
const NOT_ASCII_COMPATIBLE = /^(utf-16|utf-32|ucs-2|utf-7)/i;

/** The message with each inline text/html part passed through `rewrite`; everything else byte for byte. */
export async function rewriteHtmlParts(mime: Buffer, rewrite: (html: string) => string): Promise<Buffer> {
  const rewriter = new Rewriter((node) => node.contentType === 'text/html' && node.disposition !== 'attachment');
  rewriter.on('node', ({ node, decoder, encoder }) => {
    const chunks: Buffer[] = [];
    decoder.on('data', (chunk: Buffer) => chunks.push(chunk));
    decoder.on('end', () => {
      const body = Buffer.concat(chunks);
      const charset = (node.charset || 'utf-8').toLowerCase();
      if (NOT_ASCII_COMPATIBLE.test(charset)) return encoder.end(body);
      const encoding = UTF8.has(charset) ? 'utf8' : 'latin1';
      encoder.end(Buffer.from(rewrite(body.toString(encoding)), encoding));
    });
  });
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk);
      done();
    },
  });
  const splitter = new Splitter();
  const done = pipeline(splitter, rewriter, new Joiner(), sink);
  splitter.end(mime);
  await done;
  return Buffer.concat(out);
}
