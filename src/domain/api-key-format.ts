// API keys look like `<8 alphanumerics>.<32 hex>`: a public id, a dot, and the secret.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { randomAlnum } from './ids.ts';

const KEY_PATTERN = /^([A-Za-z0-9]{8})\.([0-9a-f]{32})$/;

export interface ParsedKey {
  id: string;
  secret: string;
}

export function parseApiKey(raw: string): ParsedKey | null {
  const m = KEY_PATTERN.exec(raw.trim());
  return m ? { id: m[1], secret: m[2] } : null;
}

export function generateApiKey(): { id: string; secret: string; key: string } {
  const id = randomAlnum(8);
  const secret = randomBytes(16).toString('hex');
  return { id, secret, key: `${id}.${secret}` };
}

/** How a key is shown after its creation: the public id, then a mask where the secret was. */
export function maskedKey(id: string): string {
  return `${id}.${'*'.repeat(8)}`;
}

/** The secret has 128 random bits, so a plain SHA-256 is enough (no password stretching needed). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads a key from any of the three accepted Authorization forms: Bearer, raw, or Basic (password). */
export function keyFromAuthorization(header: string | undefined): string | null {
  const value = header?.trim();
  if (!value) return null;
  const bearer = /^Bearer\s+(.+)$/i.exec(value);
  if (bearer) return bearer[1].trim();
  const basic = /^Basic\s+(.+)$/i.exec(value);
  if (basic) {
    const decoded = Buffer.from(basic[1].trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return (colon >= 0 ? decoded.slice(colon + 1) : decoded) || null;
  }
  return value;
}
