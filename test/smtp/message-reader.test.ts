// The DATA reader holds a message only up to the limit: a 30 MB stream against a 20 MB limit is
// counted to its end while at most the limit is ever held.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readLimited } from '../../src/smtp/message-reader.ts';

const MB = 1024 * 1024;

/** `total` bytes in 64 KB chunks, made as they are read (the test holds none of it either). */
function stream(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const n = Math.min(64 * 1024, total - sent);
      sent += n;
      this.push(Buffer.alloc(n, 0x78));
    },
  });
}

describe('readLimited', () => {
  it('returns a message within the limit whole', async () => {
    const read = await readLimited(stream(3 * MB + 5), 20 * MB);
    expect(read.raw!.length).toBe(3 * MB + 5);
    expect(read.bytes).toBe(3 * MB + 5);
  });

  it('takes a message of exactly the limit', async () => {
    const read = await readLimited(stream(20 * MB), 20 * MB);
    expect(read.raw!.length).toBe(20 * MB);
  });

  it('drains a 30 MB message past a 20 MB limit without holding more than the limit', async () => {
    const read = await readLimited(stream(30 * MB), 20 * MB);
    expect(read.raw).toBeNull();
    expect(read.bytes).toBe(30 * MB);
    expect(read.peakHeld).toBeLessThanOrEqual(20 * MB);
  });
});
