// JSON bodies are UTF-8 (RFC 8259 §8.1). A body declared in another charset (utf-16, latin1, …)
// is refused with 415 rather than read as UTF-8 into garbage, and a body that starts with a
// byte-order mark (which RFC 8259 forbids senders to add; UTF-16 and UTF-32 bodies carry one) or
// is not valid UTF-8 is refused with 400, instead of having the mark dropped or bad bytes
// replaced silently. Both surfaces answer in their own dialect (server.ts's error handler).

export class JsonEncodingError extends Error {
  constructor(
    readonly status: 400 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** US-ASCII is a subset of UTF-8; everything else is another encoding. */
const UTF8_NAMES = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

const BYTE_ORDER_MARKS: Array<[string, number[]]> = [
  ['UTF-32LE', [0xff, 0xfe, 0x00, 0x00]],
  ['UTF-32BE', [0x00, 0x00, 0xfe, 0xff]],
  ['UTF-8', [0xef, 0xbb, 0xbf]],
  ['UTF-16BE', [0xfe, 0xff]],
  ['UTF-16LE', [0xff, 0xfe]],
];

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The charset parameter of a Content-Type header, lower-cased; null when there is none. */
export function declaredCharset(contentType: string | undefined): string | null {
  const m = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '');
  return m ? m[1].toLowerCase() : null;
}

/** The body as text; throws JsonEncodingError for another charset, a byte-order mark or invalid UTF-8. */
export function jsonText(contentType: string | undefined, body: Buffer): string {
  const charset = declaredCharset(contentType);
  if (charset !== null && !UTF8_NAMES.has(charset))
    throw new JsonEncodingError(
      415,
      `the JSON body is declared as charset "${charset.slice(0, 40)}"; send it in UTF-8 (charset=utf-8)`,
    );
  const mark = BYTE_ORDER_MARKS.find(([, bytes]) => bytes.every((b, i) => body[i] === b));
  if (mark)
    throw new JsonEncodingError(
      400,
      `the JSON body starts with a ${mark[0]} byte-order mark; send UTF-8 without a byte-order mark`,
    );
  try {
    return utf8.decode(body);
  } catch {
    throw new JsonEncodingError(400, 'the JSON body is not valid UTF-8');
  }
}
