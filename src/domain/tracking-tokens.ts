// Tokens behind the open pixel (/t/o/…) and rewritten links (/t/c/…). The payload (message,
// account, kind, link index and, for clicks, the URL itself) travels in the clear and is signed
// with HMAC-SHA256 under a key derived from the installation secret (HKDF). The redirect target is
// therefore only ever a URL that was in the message: change one byte and the token is refused.
// Nothing here is secret (the recipient already has the URL), so signing is enough; packing the
// ids as bytes and truncating the tag to 128 bits keeps links reasonably short.
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export type TrackingKind = 'open' | 'click';

export interface TrackingPayload {
  kind: TrackingKind;
  messageId: string;
  accountId: string;
  /** Position of the link among the message's tracked links (clicks only). */
  linkIndex?: number;
  /** The original link (clicks only). */
  url?: string;
}

const VERSION = 1;
const TAG_BYTES = 16;
const KIND_CODES: Record<TrackingKind, number> = { open: 1, click: 2 };
const MAX_ID_BYTES = 127;
const HEX_FLAG = 0x80;
const MAX_LINKS = 0xffff;
/** Longer links are left as they are (not tracked) rather than making a link nobody can click. */
export const MAX_TRACKED_URL_BYTES = 2000;
const MAX_TOKEN_CHARS = 4 * Math.ceil((2 + 2 * (1 + MAX_ID_BYTES) + 2 + MAX_TRACKED_URL_BYTES + TAG_BYTES) / 3);

const keys = new Map<string, Buffer>();

function keyFor(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secret, 'posthorn-tracking', 'hmac-sha256 tracking token key v1', 32));
    keys.set(secret, key);
  }
  return key;
}

function packId(id: string): Buffer {
  const hex = /^(?:[0-9a-f]{2})+$/.test(id);
  const bytes = hex ? Buffer.from(id, 'hex') : Buffer.from(id, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_ID_BYTES) throw new RangeError('id must be 1 to 127 bytes');
  return Buffer.concat([Buffer.from([bytes.length | (hex ? HEX_FLAG : 0)]), bytes]);
}

function unpackId(b: Buffer, at: number): { id: string; next: number } | null {
  if (at >= b.length) return null;
  const head = b[at];
  const len = head & ~HEX_FLAG;
  if (len === 0 || at + 1 + len > b.length) return null;
  const bytes = b.subarray(at + 1, at + 1 + len);
  return { id: head & HEX_FLAG ? bytes.toString('hex') : bytes.toString('utf8'), next: at + 1 + len };
}

function tag(secret: string, body: Buffer): Buffer {
  return createHmac('sha256', keyFor(secret)).update(body).digest().subarray(0, TAG_BYTES);
}

export function signTrackingToken(secret: string, p: TrackingPayload): string {
  const parts = [Buffer.from([VERSION, KIND_CODES[p.kind]]), packId(p.messageId), packId(p.accountId)];
  if (p.kind === 'click') {
    const index = p.linkIndex ?? 0;
    if (!Number.isInteger(index) || index < 0 || index > MAX_LINKS) throw new RangeError('linkIndex out of range');
    const url = Buffer.from(p.url ?? '', 'utf8');
    if (url.length === 0 || url.length > MAX_TRACKED_URL_BYTES) throw new RangeError('url must be 1 to 2000 bytes');
    const i = Buffer.alloc(2);
    i.writeUInt16BE(index);
    parts.push(i, url);
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, tag(secret, body)]).toString('base64url');
}

/** The payload when the token is authentic and of the expected kind; otherwise null (never says why). */
export function verifyTrackingToken(secret: string, token: string, kind: TrackingKind): TrackingPayload | null {
  if (
    typeof token !== 'string' ||
    token.length === 0 ||
    token.length > MAX_TOKEN_CHARS ||
    !/^[A-Za-z0-9_-]+$/.test(token)
  )
    return null;
  const bytes = Buffer.from(token, 'base64url');
  // base64url has spare bits in its last character: only the canonical spelling is the token.
  if (bytes.toString('base64url') !== token || bytes.length < 2 + TAG_BYTES) return null;
  const body = bytes.subarray(0, bytes.length - TAG_BYTES);
  if (!timingSafeEqual(bytes.subarray(bytes.length - TAG_BYTES), tag(secret, body))) return null;
  if (body[0] !== VERSION || body[1] !== KIND_CODES[kind]) return null;
  const message = unpackId(body, 2);
  const account = message && unpackId(body, message.next);
  if (!message || !account) return null;
  if (kind === 'open')
    return account.next === body.length ? { kind, messageId: message.id, accountId: account.id } : null;
  if (account.next + 3 > body.length) return null;
  const url = body.subarray(account.next + 2).toString('utf8');
  if (!/^https?:\/\//i.test(url)) return null;
  return { kind, messageId: message.id, accountId: account.id, linkIndex: body.readUInt16BE(account.next), url };
}
