// The DATA phase of the submission server's own SMTP code: the exact `CRLF . CRLF` ends a message
// wherever the chunks split it, dot-stuffing is removed, what follows is handed back, and a message
// over the limit is drained without being held.
import { describe, expect, it } from 'vitest';
import { DataReader, unstuff, type DataResult } from '../../src/smtp/smtp-data.ts';

type Done = Extract<DataResult, { done: true }>;

/** Feeds the chunks in order; every chunk but the last must leave the message unfinished. */
function feedAll(reader: DataReader, chunks: Array<string | Buffer>): Done {
  let result: DataResult = { done: false };
  for (const [i, chunk] of chunks.entries()) {
    result = reader.feed(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'latin1'));
    expect(result.done, `chunk ${i} of ${chunks.length}`).toBe(i === chunks.length - 1);
  }
  if (!result.done) throw new Error('the message did not end');
  return result;
}

/** `text` cut at the given offsets. */
function cut(text: string, ...at: number[]): string[] {
  const bounds = [0, ...at, text.length];
  return bounds.slice(1).map((end, i) => text.slice(bounds[i], end));
}

/** `text` in pieces of `size` characters. */
const pieces = (text: string, size: number) => text.match(new RegExp(`[^]{1,${size}}`, 'g'))!;

const read = (...chunks: string[]) => feedAll(new DataReader(1000), chunks);
const text = (result: Done) => result.raw!.toString('latin1');

describe('DataReader: the end of the message', () => {
  it('finds the terminator in one chunk and keeps the final CRLF as part of the message', () => {
    const result = read('Subject: a\r\n\r\nbody\r\n.\r\n');
    expect(text(result)).toBe('Subject: a\r\n\r\nbody\r\n');
    expect(result.bytes).toBe(20);
    expect(result.rest.length).toBe(0);
  });

  it('finds it split across two chunks at every position', () => {
    const stream = 'a\r\n.b\r\n.\r\nNOOP\r\n';
    for (let i = 1; i < stream.length - 6; i++) {
      const result = read(...cut(stream, i));
      expect(text(result), `split at ${i}`).toBe('a\r\nb\r\n');
      expect(result.bytes, `split at ${i}`).toBe(7);
      expect(result.rest.toString(), `split at ${i}`).toBe('NOOP\r\n');
    }
  });

  it('finds it split across three chunks at every pair of positions', () => {
    const stream = 'x\r\n..\r\ny\r\n.\r\n';
    for (let i = 1; i < stream.length - 1; i++) {
      for (let j = i + 1; j < stream.length; j++) {
        const result = read(...cut(stream, i, j));
        expect(text(result), `split at ${i}, ${j}`).toBe('x\r\n.\r\ny\r\n');
        expect(result.rest.length, `split at ${i}, ${j}`).toBe(0);
      }
    }
  });

  it('reads `.` CRLF at the very start as the empty message, also when split', () => {
    for (const chunks of [['.\r\n'], ['.', '\r\n'], ['.\r', '\n'], ['.', '\r', '\n']]) {
      const result = read(...chunks);
      expect(result.raw!.length, JSON.stringify(chunks)).toBe(0);
      expect(result.bytes).toBe(0);
    }
  });

  it('hands back what followed the dot line (the pipelined next command)', () => {
    const result = read('hi\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n');
    expect(text(result)).toBe('hi\r\n');
    expect(result.rest.toString()).toBe('MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n');
  });

  it('does not end at a bare LF dot LF, nor at a dot with only one of them bare (no smuggling)', () => {
    // What follows such a dot stays in the one message (a dot after CRLF is taken as stuffing).
    const reader = new DataReader(1000);
    for (const chunk of ['one\n.\n', 'MAIL FROM:<x@y>\r\n', 'two\r\n.\n', 'three\n.\r\n']) {
      expect(reader.feed(Buffer.from(chunk)).done, JSON.stringify(chunk)).toBe(false);
    }
    const result = reader.feed(Buffer.from('end\r\n.\r\n'));
    expect(result).toMatchObject({ done: true });
    expect(text(result as Done)).toBe('one\n.\nMAIL FROM:<x@y>\r\ntwo\r\n\nthree\n.\r\nend\r\n');
  });
});

describe('DataReader and unstuff: dot-stuffing', () => {
  it('removes the dot the client added to lines that start with one', () => {
    expect(text(read('a\r\n..x\r\n..\r\n...\r\nb.\r\n.\r\n'))).toBe('a\r\n.x\r\n.\r\n..\r\nb.\r\n');
  });

  it('removes it from the first line too', () => {
    expect(text(read('..first\r\nsecond\r\n.\r\n'))).toBe('.first\r\nsecond\r\n');
    expect(unstuff(Buffer.from('..\r\n')).toString()).toBe('.\r\n');
  });

  it('leaves a message without dotted lines untouched (the same buffer)', () => {
    const plain = Buffer.from('no dots at line starts. here.\r\n');
    expect(unstuff(plain)).toBe(plain);
  });

  it('counts bytes as sent (stuffed), not as unstuffed', () => {
    const result = read('..a\r\n.\r\n');
    expect(result.bytes).toBe(5);
    expect(text(result)).toBe('.a\r\n');
  });
});

describe('DataReader: the size limit', () => {
  it('accepts a message of exactly the limit, fed a byte at a time', () => {
    const body = 'x'.repeat(98) + '\r\n';
    const reader = new DataReader(100);
    const result = feedAll(reader, pieces(body + '.\r\n', 1));
    expect(text(result)).toBe(body);
    expect(result.bytes).toBe(100);
    expect(reader.peakHeld).toBeLessThanOrEqual(102);
  });

  it('drains a message over the limit in many chunks, holding at most the limit and the dot', () => {
    for (const size of [1, 7, 64]) {
      const reader = new DataReader(1000);
      const result = feedAll(reader, pieces('y'.repeat(5000) + '\r\n.\r\n', size));
      expect(result.raw, `chunks of ${size}`).toBeNull();
      expect(result.bytes).toBe(5002);
      expect(reader.peakHeld, `chunks of ${size}`).toBeLessThanOrEqual(1002);
      expect(reader.peakHeld).toBeGreaterThan(900);
    }
  });

  it('refuses a message one byte over the limit, fed whole or a byte at a time', () => {
    const stream = 'z'.repeat(99) + '\r\n.\r\n';
    expect(feedAll(new DataReader(100), [stream]).raw).toBeNull();
    const reader = new DataReader(100);
    expect(feedAll(reader, pieces(stream, 1)).raw).toBeNull();
    expect(reader.peakHeld).toBeLessThanOrEqual(102);
  });
});
