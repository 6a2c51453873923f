// A small, forgiving MIME reader for the reports that arrive at the return path (DSNs, ARF
// complaints, plain-text bounces, auto-replies): the tree of parts with their headers and decoded
// bodies. Mail daemons write odd MIME, so nothing here throws: a part it cannot read is kept as
// text. Depth and part count are bounded so a hostile message cannot make it recurse or fan out
// without end. Pure and synchronous.
import { parseHead, type HeaderField } from './mime-head.ts';

export interface MimePart {
  fields: HeaderField[];
  /** `type/subtype`, lower-cased; `text/plain` when absent or unreadable (RFC 2045's default). */
  contentType: string;
  /** Content-Type parameters, names lower-cased. */
  params: Record<string, string>;
  /** The body after Content-Transfer-Encoding decoding (still in its charset). */
  body: Buffer;
  /** Children of a multipart part; empty otherwise. */
  parts: MimePart[];
}

const MAX_DEPTH = 6;
const MAX_PARTS = 200;

/** The value of a header field (the first one of that name), unfolded, undecoded. */
export function field(part: Pick<MimePart, 'fields'>, name: string): string | undefined {
  const key = name.toLowerCase();
  return part.fields.find((f) => f.key === key)?.value;
}

/** `type/subtype; a=b; c="d e"` → the type and its parameters. */
export function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  const params: Record<string, string> = {};
  if (!value) return { type: 'text/plain', params };
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  const re = /;\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  for (const m of value.slice(Math.max(semi, 0)).matchAll(re))
    params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  return { type: /^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(type) ? type : 'text/plain', params };
}

export function parseMime(raw: Buffer): MimePart {
  const budget = { parts: 0 };
  return readPart(raw, 0, budget, 'text/plain');
}

function readPart(raw: Buffer, depth: number, budget: { parts: number }, defaultType: string): MimePart {
  budget.parts++;
  const head = parseHead(raw);
  const fields = head.fields.filter((f) => f.key !== '');
  const ctValue = fields.find((f) => f.key === 'content-type')?.value;
  const { type, params } = ctValue ? parseContentType(ctValue) : { type: defaultType, params: {} };
  const content = raw.subarray(head.bodyStart);
  const encoding = (fields.find((f) => f.key === 'content-transfer-encoding')?.value ?? '').trim().toLowerCase();
  const part: MimePart = { fields, contentType: type, params, body: content, parts: [] };
  if (type.startsWith('multipart/') && params.boundary && depth < MAX_DEPTH) {
    // multipart/digest's parts default to message/rfc822 (RFC 2046 5.1.5).
    const childDefault = type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    for (const chunk of splitMultipart(content, params.boundary)) {
      if (budget.parts >= MAX_PARTS) break;
      part.parts.push(readPart(chunk, depth + 1, budget, childDefault));
    }
    return part;
  }
  part.body = decodeTransfer(content, encoding);
  return part;
}

/** The bodies between `--boundary` lines; a missing closing delimiter ends at the end. */
function splitMultipart(body: Buffer, boundary: string): Buffer[] {
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  const out: Buffer[] = [];
  let start = -1;
  let pos = 0;
  while (pos <= text.length) {
    const lineEnd = text.indexOf('\n', pos);
    const end = lineEnd < 0 ? text.length : lineEnd + 1;
    const line = text
      .slice(pos, end)
      .replace(/\r?\n$/, '')
      .trimEnd();
    if (line === delimiter || line === `${delimiter}--`) {
      if (start >= 0) {
        // The line break before the delimiter belongs to the delimiter (RFC 2046 5.1.1).
        let stop = pos;
        if (text[stop - 1] === '\n') stop--;
        if (text[stop - 1] === '\r') stop--;
        out.push(body.subarray(start, Math.max(start, stop)));
      }
      if (line.endsWith('--') && line === `${delimiter}--`) return out;
      start = end;
    }
    if (lineEnd < 0) break;
    pos = end;
  }
  if (start >= 0 && start < body.length) out.push(body.subarray(start));
  return out;
}

function decodeTransfer(content: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(content.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(content.toString('latin1'));
  return content;
}

export function decodeQuotedPrintable(text: string): Buffer {
  const bytes: number[] = [];
  const soft = text.replace(/=[ \t]*\r?\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    const c = soft.charCodeAt(i);
    if (c === 61 /* = */ && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes);
}

/** A text part's body as a string, in its declared charset (UTF-8 when unknown or unsupported). */
export function partText(part: MimePart): string {
  const charset = (part.params.charset ?? 'utf-8').toLowerCase();
  try {
    return new TextDecoder(charset).decode(part.body);
  } catch {
    return part.body.toString('utf8');
  }
}

/** Every part of the tree, depth first, the root included. Embedded messages are not opened. */
export function allParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const walk = (p: MimePart) => {
    out.push(p);
    for (const c of p.parts) walk(c);
  };
  walk(root);
  return out;
}
