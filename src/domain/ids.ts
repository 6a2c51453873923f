// Identifiers: time-ordered (so new rows append to indexes) and unguessable.
import { randomBytes } from 'node:crypto';

let lastMs = 0;
let seq = 0;

/** 24 hex chars: 12 of milliseconds, 4 of a per-millisecond sequence, 8 random. */
export function newId(): string {
  const now = Date.now();
  if (now === lastMs) seq = (seq + 1) & 0xffff;
  else {
    lastMs = now;
    seq = 0;
  }
  return now.toString(16).padStart(12, '0') + seq.toString(16).padStart(4, '0') + randomBytes(4).toString('hex');
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function randomAlnum(length: number): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length && i < bytes.length; i++) {
    // 248 = 4 * 62: rejecting larger bytes keeps the distribution uniform.
    if (bytes[i]! < 248) out += ALNUM[bytes[i]! % 62];
  }
  return out.length === length ? out : out + randomAlnum(length - out.length);
}
