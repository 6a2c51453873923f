// Identifiers: time-ordered (so new rows append to indexes) and unguessable.
import { randomBytes } from 'node:crypto';

let lastMs = 0;
let seq = 0;

// Random bytes are drawn from a pool refilled 4 KB at a time: one randomBytes call per id was a
// visible share of the accept path.
let pool = Buffer.alloc(0);
let poolOffset = 0;
function random4(): string {
  if (poolOffset + 4 > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  poolOffset += 4;
  return pool.toString('hex', poolOffset - 4, poolOffset);
}

/** 24 hex chars: 12 of milliseconds, 4 of a per-millisecond sequence, 8 random. */
export function newId(): string {
  const now = Date.now();
  if (now === lastMs) seq = (seq + 1) & 0xffff;
  else {
    lastMs = now;
    seq = 0;
  }
  return now.toString(16).padStart(12, '0') + seq.toString(16).padStart(4, '0') + random4();
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function randomAlnum(length: number): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length && i < bytes.length; i++) {
    // 248 = 4 * 62: rejecting larger bytes keeps the distribution uniform.
    if (bytes[i] < 248) out += ALNUM[bytes[i] % 62];
  }
  return out.length === length ? out : out + randomAlnum(length - out.length);
}
