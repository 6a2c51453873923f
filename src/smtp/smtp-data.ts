// The DATA phase of an SMTP transaction (RFC 5321 4.1.1.4, 4.5.2): bytes arrive in chunks until a
// line holding a single dot, i.e. `CRLF . CRLF`; a line that starts with a dot had one added by the
// client, which is removed here. Only the exact `CRLF . CRLF` ends a message: a bare LF before or
// after the dot does not, so nothing after a lone `LF . LF` can be smuggled in as a second message.
//
// The reader keeps at most `maxBytes` of one message: past that it drops what it holds and only
// looks for the end, so a client that does not declare SIZE (or lies about it) cannot make the server
// hold more than the limit.

const TERMINATOR = Buffer.from('\r\n.\r\n');
const CRLF = Buffer.from('\r\n');

export type DataResult =
  | { done: false }
  /** `raw` is null when the message was larger than the limit; `rest` is what followed the dot line. */
  | { done: true; raw: Buffer | null; bytes: number; rest: Buffer };

export class DataReader {
  private chunks: Buffer[] = [];
  private held = 0;
  /** Bytes of the message (dot-stuffed, as sent) before the current chunk. */
  private seen = 0;
  private over = false;
  /** The last bytes of what came before, so that a terminator split across chunks is found. */
  private tail: Buffer = CRLF;
  /** The most bytes held at any moment. */
  peakHeld = 0;

  constructor(private readonly maxBytes: number) {}

  feed(chunk: Buffer): DataResult {
    const at = this.terminatorIn(chunk);
    if (at === null) {
      this.keep(chunk);
      this.seen += chunk.length;
      this.tail = lastBytes(this.tail, chunk, TERMINATOR.length - 1);
      return { done: false };
    }
    // The message ends with the CRLF that starts the terminator, at chunk offset `at + 2` (negative
    // when the message already ended in an earlier chunk and only the dot or its CRLF came now).
    const endInChunk = at + CRLF.length;
    let bytes = this.seen + endInChunk;
    if (endInChunk >= 0) this.keep(chunk.subarray(0, endInChunk));
    else this.dropLast(-endInChunk);
    // The CRLF of the synthetic start (an empty message) is no part of the message.
    if (bytes < 0) bytes = 0;
    const rest = chunk.subarray(at + TERMINATOR.length);
    if (this.over || bytes > this.maxBytes) return { done: true, raw: null, bytes, rest };
    const stuffed = Buffer.concat(this.chunks, this.held);
    return { done: true, raw: unstuff(stuffed), bytes, rest };
  }

  /**
   * Where the first terminator starts, as a chunk offset (negative: it began in the bytes before),
   * or null. Only the seam with the bytes before is copied; the chunk itself is searched in place.
   */
  private terminatorIn(chunk: Buffer): number | null {
    const seam = Buffer.concat([this.tail, chunk.subarray(0, TERMINATOR.length - 1)]);
    const inSeam = seam.indexOf(TERMINATOR);
    if (inSeam >= 0) return inSeam - this.tail.length;
    const inChunk = chunk.indexOf(TERMINATOR);
    return inChunk >= 0 ? inChunk : null;
  }

  private keep(part: Buffer): void {
    if (this.over || part.length === 0) return;
    // Past the message's own bytes (its final CRLF included) only the `.` and CR of a terminator
    // whose LF has not come yet are ever held, so more than maxBytes + 2 means the message is over
    // the limit.
    if (this.held + part.length > this.maxBytes + 2) {
      this.over = true;
      this.chunks = [];
      this.held = 0;
      return;
    }
    this.chunks.push(part);
    this.held += part.length;
    if (this.held > this.peakHeld) this.peakHeld = this.held;
  }

  /** Takes back bytes kept from an earlier chunk that turned out to be part of the terminator. */
  private dropLast(count: number): void {
    if (this.over) return;
    let left = count;
    while (left > 0 && this.chunks.length > 0) {
      const last = this.chunks[this.chunks.length - 1];
      if (last.length <= left) {
        this.chunks.pop();
        left -= last.length;
        this.held -= last.length;
      } else {
        this.chunks[this.chunks.length - 1] = last.subarray(0, last.length - left);
        this.held -= left;
        left = 0;
      }
    }
  }
}

/** The last `count` bytes of `before` followed by `chunk`, copied (the chunk is not kept alive by them). */
function lastBytes(before: Buffer, chunk: Buffer, count: number): Buffer {
  if (chunk.length >= count) return Buffer.from(chunk.subarray(chunk.length - count));
  const joined = Buffer.concat([before, chunk]);
  return joined.subarray(Math.max(0, joined.length - count));
}

/** Removes the dot a client put before every line that starts with one. */
export function unstuff(stuffed: Buffer): Buffer {
  const first = stuffed[0] === 0x2e ? 1 : 0;
  let at = stuffed.indexOf('\r\n.');
  if (first === 0 && at < 0) return stuffed;
  const parts: Buffer[] = [];
  let from = first;
  while (at >= 0) {
    parts.push(stuffed.subarray(from, at + 2));
    from = at + 3;
    at = stuffed.indexOf('\r\n.', from);
  }
  parts.push(stuffed.subarray(from));
  return Buffer.concat(parts);
}
