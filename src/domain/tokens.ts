// Tokens for the links that land in subscribers' mail (confirm, unsubscribe, preferences, web view).
// AES-256-GCM with a key derived from the installation secret (HKDF): the ids inside are encrypted,
// so a link reveals nothing guessable, and the GCM tag makes any altered byte an invalid token.
// The payload is packed in binary so the token stays short (79 characters for hex account ids):
// it appears in List-Unsubscribe headers and must fit the router's 100-character parameter limit.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export type TokenPurpose = 'confirm' | 'unsubscribe' | 'preferences' | 'view';

export interface TokenPayload {
  purpose: TokenPurpose;
  accountId: string;
  subscriberId: number;
  channelId?: number | null;
  /** The mailing the link came in (web view, and unsubscribes attributed to it); absent otherwise. */
  mailingId?: number | null;
  /** Expiry, epoch ms (kept to whole seconds inside the token). */
  exp: number;
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_TOKEN_CHARS = 400;
const MAX_ID = 2 ** 48 - 1; // six bytes per integer id
const PURPOSE_CODES: Record<TokenPurpose, number> = { confirm: 1, unsubscribe: 2, preferences: 3, view: 4 };
/** Every purpose a token can have (tests walk the public pages with one of each). */
export const TOKEN_PURPOSES = Object.keys(PURPOSE_CODES) as TokenPurpose[];
const PURPOSES = Object.fromEntries(Object.entries(PURPOSE_CODES).map(([k, v]) => [v, k])) as Record<
  number,
  TokenPurpose
>;
const ACCOUNT_HEX = 1;
const ACCOUNT_UTF8 = 2;
// The same two account encodings with a six-byte mailing id in front of the account (tokens made
// before mailings existed keep the kinds above and still open).
const MAILING_OFFSET = 2;

const keys = new Map<string, Buffer>();

function keyFor(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secret, 'posthorn-public-tokens', 'aes-256-gcm token key v1', 32));
    keys.set(secret, key);
  }
  return key;
}

function pack(p: TokenPayload): Buffer {
  const hex = /^(?:[0-9a-f]{2})+$/.test(p.accountId);
  const account = hex ? Buffer.from(p.accountId, 'hex') : Buffer.from(p.accountId, 'utf8');
  if (account.length === 0 || account.length > 128) throw new RangeError('accountId must be 1 to 128 bytes');
  if (!Number.isSafeInteger(p.subscriberId) || p.subscriberId < 1 || p.subscriberId > MAX_ID)
    throw new RangeError('subscriberId out of range');
  const channel = p.channelId ?? 0;
  if (!Number.isSafeInteger(channel) || channel < 0 || channel > MAX_ID) throw new RangeError('channelId out of range');
  const exp = Math.ceil(p.exp / 1000);
  if (!Number.isSafeInteger(exp) || exp < 0 || exp > 0xffffffff) throw new RangeError('exp out of range');
  const mailing = p.mailingId ?? 0;
  if (!Number.isSafeInteger(mailing) || mailing < 0 || mailing > MAX_ID) throw new RangeError('mailingId out of range');

  const head = Buffer.alloc(18);
  head.writeUInt8(PURPOSE_CODES[p.purpose], 0);
  head.writeUInt32BE(exp, 1);
  head.writeUIntBE(p.subscriberId, 5, 6);
  head.writeUIntBE(channel, 11, 6);
  head.writeUInt8((hex ? ACCOUNT_HEX : ACCOUNT_UTF8) + (mailing ? MAILING_OFFSET : 0), 17);
  if (!mailing) return Buffer.concat([head, account]);
  const mailingBytes = Buffer.alloc(6);
  mailingBytes.writeUIntBE(mailing, 0, 6);
  return Buffer.concat([head, mailingBytes, account]);
}

function unpack(b: Buffer): TokenPayload | null {
  if (b.length < 19) return null;
  const purpose = PURPOSES[b.readUInt8(0)];
  const rawKind = b.readUInt8(17);
  const withMailing = rawKind > MAILING_OFFSET;
  const kind = withMailing ? rawKind - MAILING_OFFSET : rawKind;
  if (!purpose || (kind !== ACCOUNT_HEX && kind !== ACCOUNT_UTF8)) return null;
  if (withMailing && b.length < 25) return null;
  const channel = b.readUIntBE(11, 6);
  const account = b.subarray(withMailing ? 24 : 18);
  return {
    purpose,
    ...(withMailing ? { mailingId: b.readUIntBE(18, 6) } : {}),
    exp: b.readUInt32BE(1) * 1000,
    subscriberId: b.readUIntBE(5, 6),
    channelId: channel === 0 ? null : channel,
    accountId: kind === ACCOUNT_HEX ? account.toString('hex') : account.toString('utf8'),
  };
}

export function sealToken(secret: string, payload: TokenPayload): string {
  const iv = randomBytes(IV_BYTES);
  const version = Buffer.from([VERSION]);
  const cipher = createCipheriv('aes-256-gcm', keyFor(secret), iv);
  cipher.setAAD(version);
  const body = Buffer.concat([cipher.update(pack(payload)), cipher.final()]);
  return Buffer.concat([version, iv, body, cipher.getAuthTag()]).toString('base64url');
}

/**
 * The payload when the token is authentic, of the expected purpose and not expired; otherwise null.
 * Why a token is refused is not told apart: every refusal shows the same page.
 */
export function openToken(secret: string, token: string, purpose: TokenPurpose, now: number): TokenPayload | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const bytes = Buffer.from(token, 'base64url');
  // base64url has spare bits in its last character: only the canonical spelling is the token.
  if (bytes.toString('base64url') !== token) return null;
  if (bytes.length < 1 + IV_BYTES + TAG_BYTES + 1 || bytes[0] !== VERSION) return null;
  const iv = bytes.subarray(1, 1 + IV_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const body = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES);
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(secret), iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(bytes.subarray(0, 1));
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return null;
  }
  const payload = unpack(plain);
  if (!payload || payload.purpose !== purpose || payload.exp <= now) return null;
  return payload;
}

export const TOKEN_LIFETIME_MS: Record<TokenPurpose, number> = {
  // A confirmation is expected within days; an old one should not subscribe anybody.
  confirm: 30 * 24 * 3600 * 1000,
  // Unsubscribe and preference links sit in archived mail and must keep working for a long time.
  unsubscribe: 2 * 365 * 24 * 3600 * 1000,
  preferences: 2 * 365 * 24 * 3600 * 1000,
  view: 2 * 365 * 24 * 3600 * 1000,
};
