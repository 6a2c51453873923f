// The header block of a message as it arrived: its fields with their original bytes, so a message
// can lose or gain a field while every other byte (the rest of the head, the whole body) stays as
// the sender wrote it. Text is handled as latin1 ("binary") strings: one character per byte.

export interface HeaderField {
  /** The field name as written. */
  name: string;
  /** Lower-cased name, for comparison. */
  key: string;
  /** The value unfolded (line breaks of continuation lines removed), undecoded, trimmed. */
  value: string;
  /** The field exactly as in the message, continuation lines and line ending included. */
  raw: string;
}

export interface MimeHead {
  fields: HeaderField[];
  /** Byte offset where the body starts (after the empty line); the message length when there is none. */
  bodyStart: number;
  /** The line ending the head uses (CRLF from SMTP). */
  eol: '\r\n' | '\n';
  /** Whether an empty line ends the head (a message without one is all head, no body). */
  separated: boolean;
}

/**
 * Reads the header block. Lines before the first field that are not fields (an mbox "From " line)
 * are kept as nameless fields.
 */
export function parseHead(message: Buffer): MimeHead {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  // The line ending of the empty line that ends the head; without one, the first line's.
  const eol: MimeHead['eol'] =
    crlf >= 0 || lf >= 0 ? (crlf >= 0 && (lf < 0 || crlf < lf) ? '\r\n' : '\n') : firstLineEnding(message);
  // A message that starts with its empty line has no head; one without any has no body.
  let headEnd: number;
  let bodyStart: number;
  if (message.subarray(0, eol.length).toString('latin1') === eol) [headEnd, bodyStart] = [0, eol.length];
  else if (eol === '\r\n' && crlf >= 0) [headEnd, bodyStart] = [crlf + 2, crlf + 4];
  else if (eol === '\n' && lf >= 0) [headEnd, bodyStart] = [lf + 1, lf + 2];
  else [headEnd, bodyStart] = [message.length, message.length];
  const head = message.subarray(0, headEnd).toString('latin1');

  const fields: HeaderField[] = [];
  // Split before every line that does not start with whitespace: each piece is one field.
  for (const raw of head.split(/(?<=\n)(?![ \t])/)) {
    if (raw === '') continue;
    const colon = raw.indexOf(':');
    const name = colon > 0 && /^[!-9;-~]+$/.test(raw.slice(0, colon)) ? raw.slice(0, colon) : '';
    const value = name
      ? raw
          .slice(colon + 1)
          .replace(/\r?\n/g, '')
          .trim()
      : '';
    fields.push({ name, key: name.toLowerCase(), value, raw });
  }
  return { fields, bodyStart, eol, separated: bodyStart > headEnd };
}

function firstLineEnding(message: Buffer): MimeHead['eol'] {
  const lf = message.indexOf('\n');
  return lf > 0 && message[lf - 1] === 0x0d ? '\r\n' : '\n';
}

/** The first field of that name (case-insensitive), or undefined. */
export function headerValue(head: MimeHead, name: string): string | undefined {
  const key = name.toLowerCase();
  return head.fields.find((f) => f.key === key)?.value;
}

export function countFields(head: MimeHead, name: string): number {
  const key = name.toLowerCase();
  return head.fields.filter((f) => f.key === key).length;
}

/**
 * The message with some fields dropped and new ones put first (each `Name: value`, written with the
 * head's line ending); the body and every kept field byte for byte as they were.
 */
export function rewriteHead(
  message: Buffer,
  head: MimeHead,
  opts: { drop?: (field: HeaderField) => boolean; prepend?: string[] },
): Buffer {
  const kept = opts.drop ? head.fields.filter((f) => !opts.drop!(f)) : head.fields;
  const added = (opts.prepend ?? []).map((line) => line + head.eol).join('');
  const text = added + kept.map((f) => f.raw).join('') + (head.separated ? head.eol : '');
  return Buffer.concat([Buffer.from(text, 'latin1'), message.subarray(head.bodyStart)]);
}
