// Dashboard passwords, hashed with scrypt from node:crypto (no dependency). The stored form names
// its parameters, so they can be raised later without breaking existing hashes:
// scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16384; // 2^14: about 16 MB and ~50 ms per hash; OWASP's minimum for scrypt is 2^17 with r=8,p=1
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Constant-time check of a password against a stored hash; a malformed hash never matches. */
export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  if (!n || !r || !p || expected.length !== KEY_LENGTH) return false;
  const actual = await derive(password, salt, { N: n, r, p });
  return timingSafeEqual(actual, expected);
}

/** A dummy hash to compare against when the email is unknown, so timing does not tell which exist. */
export const UNKNOWN_USER_HASH = ['scrypt', N, R, P, Buffer.alloc(16), Buffer.alloc(KEY_LENGTH)]
  .map((part) => (Buffer.isBuffer(part) ? part.toString('base64') : String(part)))
  .join('$');
