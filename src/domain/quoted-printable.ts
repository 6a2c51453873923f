// Quoted-printable (RFC 2045 6.7) for message bodies, built for bulk mail: one pass over the UTF-8
// bytes, four bytes at a time while they need no encoding, written into reused scratch buffers,
// so a 4 KB body costs a few µs (nodemailer's encoder runs regular expressions and string
// concatenation over every body).
//
// Output rules:
// - printable ASCII 33–126 except "=" is literal; every other byte is "=XX" (upper-case hex);
// - space and tab are literal, except before a line break or at the very end, where they are
//   encoded (trailing whitespace may be stripped in transit, RFC 2045 6.7 rule 3);
// - an input line break (LF or CRLF) becomes a CRLF hard break; a lone CR is data and becomes
//   "=0D", so the output has CRLF line ends only;
// - soft breaks ("=" CRLF) keep every line within 76 characters, "=" included, and never split an
//   "=XX" triple (they may fall between the escapes of one UTF-8 character: decoders join bytes);
// - a literal "=" never appears, so "=_" can never occur in the output: bulk-mime.ts relies on
//   that for its multipart boundaries.
// Lines starting with "." are left alone: the SMTP client dot-stuffs.

const MAX_LINE = 76; // RFC 2045 6.7 rule 5, the "=" of a soft break included
const SOFT_LIMIT = MAX_LINE - 1; // characters a line may hold when a soft break follows

const LITERAL = 0; // printable ASCII except "=", and space/tab (fixed up at line ends)
const CR = 1;
const LF = 2;
const ESCAPE = 3;

const BYTE_CLASS = new Uint8Array(256).fill(ESCAPE);
for (let b = 0x20; b <= 0x7e; b++) BYTE_CLASS[b] = LITERAL;
BYTE_CLASS[0x3d] = ESCAPE; // "="
BYTE_CLASS[0x09] = LITERAL;
BYTE_CLASS[0x0d] = CR;
BYTE_CLASS[0x0a] = LF;

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

// Word tests for four bytes at once (each is exact about whether any byte matches; see
// "Determine if a word has a byte less than n" in Bit Twiddling Hacks). A word passes when all
// four bytes are 0x20–0x7E and none is "=": space is let through and fixed up at the line end.
const HIGH_BITS = 0x80808080 | 0;
const ONES = 0x01010101;
const SPACES = 0x20202020;
const EQUALS = 0x3d3d3d3d;

// A word read through Int32Array is in the platform's byte order; written back through a
// DataView (which takes unaligned offsets) in the same order, its four bytes land unchanged.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

interface Scratch {
  bytes: Buffer;
  words: Int32Array; // the same memory as bytes: reads four bytes at once
  view: DataView; // the same memory as bytes: writes four bytes at once at any offset
}

function scratch(size: number): Scratch {
  const memory = new ArrayBuffer((size + 3) & ~3);
  return { bytes: Buffer.from(memory), words: new Int32Array(memory), view: new DataView(memory) };
}

// Reused across calls: encoding is synchronous, so no call can see another's data. Bodies beyond
// SCRATCH_CAP get their own buffers so one huge message does not pin megabytes for good.
const SCRATCH_CAP = 1 << 20;
let scratchIn = scratch(16 * 1024);
let scratchOut = scratch(64 * 1024);

/** The quoted-printable form of `text`'s UTF-8 bytes, with CRLF line ends. */
export function encodeQuotedPrintable(text: string): string {
  if (text.length === 0) return '';
  // A UTF-16 code unit is at most 3 UTF-8 bytes (a surrogate pair: 4 bytes for 2 units).
  const inSize = text.length * 3;
  let input = scratchIn;
  if (input.bytes.length < inSize) {
    input = scratch(inSize);
    if (inSize <= SCRATCH_CAP) scratchIn = input;
  }
  const n = input.bytes.write(text, 0, 'utf8');
  // A byte takes at most 3 characters (LF → CRLF: 2); a soft break (3) follows at least 73.
  const outSize = n * 3 + 3 * Math.ceil((n * 3) / (SOFT_LIMIT - 2)) + 3;
  let output = scratchOut;
  if (output.bytes.length < outSize) {
    output = scratch(outSize);
    if (outSize <= SCRATCH_CAP) scratchOut = output;
  }
  const length = encodeBytes(input.bytes, input.words, n, output.bytes, output.view);
  return output.bytes.toString('latin1', 0, length);
}

/** True when input position i starts a line break (LF or CRLF) or is the end. */
function atLineEnd(input: Buffer, n: number, i: number): boolean {
  if (i >= n) return true;
  const b = input[i];
  return b === 0x0a || (b === 0x0d && i + 1 < n && input[i + 1] === 0x0a);
}

function encodeBytes(input: Buffer, words: Int32Array, n: number, out: Buffer, outView: DataView): number {
  let pos = 0;
  let col = 0; // characters on the current output line
  let i = 0;
  while (i < n) {
    if ((i & 3) === 0) {
      // Fast path: whole aligned words that need no encoding, up to the soft-break column.
      const stop = Math.min(n, i + SOFT_LIMIT - col) - 3;
      const start = i;
      const shift = pos - i;
      while (i < stop) {
        const w = words[i >> 2];
        const e = w ^ EQUALS;
        if ((((w - SPACES) & ~w) | (w + ONES) | w | ((e - ONES) & ~e)) & HIGH_BITS) break;
        outView.setInt32(i + shift, w, LITTLE_ENDIAN);
        i += 4;
      }
      col += i - start;
      pos = i + shift;
      if (i >= n) break;
    }

    const b = input[i];
    const cls = BYTE_CLASS[b];
    if (cls === LITERAL) {
      // The 76th column is usable only by a line's last character (no "=" needs to follow).
      if (col >= SOFT_LIMIT && !(col === SOFT_LIMIT && atLineEnd(input, n, i + 1))) {
        pos = softBreak(out, pos);
        col = 0;
      }
      out[pos++] = b;
      col++;
      i++;
      continue;
    }
    if (cls === LF || (cls === CR && i + 1 < n && input[i + 1] === 0x0a)) {
      pos = encodeTrailingWhitespace(out, pos, col);
      out[pos++] = 0x0d;
      out[pos++] = 0x0a;
      col = 0;
      i += cls === CR ? 2 : 1;
      continue;
    }
    if (col + 3 > SOFT_LIMIT && !(col + 3 <= MAX_LINE && atLineEnd(input, n, i + 1))) {
      pos = softBreak(out, pos);
      col = 0;
    }
    out[pos++] = 0x3d;
    out[pos++] = HEX[b >> 4];
    out[pos++] = HEX[b & 15];
    col += 3;
    i++;
  }
  return encodeTrailingWhitespace(out, pos, col);
}

function softBreak(out: Buffer, pos: number): number {
  out[pos] = 0x3d;
  out[pos + 1] = 0x0d;
  out[pos + 2] = 0x0a;
  return pos + 3;
}

/**
 * Space and tab were written literally; when one ends the line after all, it becomes "=20"/"=09".
 * A line's last character can only be a literal one (escapes end in a hex digit, soft and hard
 * breaks in LF), so looking at the previous output byte is enough.
 */
function encodeTrailingWhitespace(out: Buffer, pos: number, col: number): number {
  if (col === 0) return pos;
  const last = out[pos - 1];
  if (last !== 0x20 && last !== 0x09) return pos;
  pos--;
  col--;
  if (col + 3 > MAX_LINE) pos = softBreak(out, pos);
  out[pos] = 0x3d;
  out[pos + 1] = HEX[last >> 4];
  out[pos + 2] = HEX[last & 15];
  return pos + 3;
}
