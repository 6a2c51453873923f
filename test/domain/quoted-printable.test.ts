// The quoted-printable encoder against an independent decoder (libqp, the one mailparser uses;
// nodemailer's own lib/qp has no decoder) for random and edge-case text, plus the shape rules a
// receiver depends on: lines of at most 76, no trailing whitespace, CRLF only.
import { describe, expect, it } from 'vitest';
import { decode } from 'libqp';
import { encodeQuotedPrintable } from '../../src/domain/quoted-printable.ts';
import { seededRandom } from '../../bench/lib/marketing-data.ts';

/** What decoding must give back: line breaks become CRLF; everything else, lone CR included, is kept. */
const expectedText = (text: string) => text.replace(/\r?\n/g, '\r\n');

function checkShape(encoded: string) {
  expect(encoded, 'bare CR or LF').not.toMatch(/\r(?!\n)|(?<!\r)\n/);
  const lines = encoded.split('\r\n');
  lines.forEach((line, i) => {
    expect(line.length, `line ${i} ${JSON.stringify(line)}`).toBeLessThanOrEqual(76);
    expect(line, `trailing whitespace on line ${i}`).not.toMatch(/[ \t]$/);
    expect(line, `non-ASCII or control character on line ${i}`).toMatch(/^[\x21-\x7e \t]*$/);
    // Only "=XX" escapes and a final soft-break "=": a literal "=" would make "=_" possible.
    expect(line.replace(/=[0-9A-F]{2}/g, '').replace(/=$/, ''), `stray "=" on line ${i}`).not.toContain('=');
    // Soft breaks are not wasted: a broken line was filled to within one escape of the limit.
    if (line.endsWith('=') && i < lines.length - 1)
      expect(line.length, `short soft-broken line ${i}`).toBeGreaterThanOrEqual(74);
  });
}

function roundTrip(text: string) {
  const encoded = encodeQuotedPrintable(text);
  checkShape(encoded);
  expect(decode(encoded).toString('utf8')).toBe(expectedText(text));
  return encoded;
}

// A seeded generator (the benchmarks' mulberry32), so a failure can be reproduced from the printed seed.
const random = seededRandom;

const PIECES = [
  'hello',
  ' ',
  ' ',
  '  ',
  '\t',
  'ä',
  'Größe',
  'ü',
  'ß',
  '🎉',
  '👩‍👩‍👧',
  '漢字',
  '日本語のテキスト',
  '=',
  '==',
  '=3D',
  '.',
  '-',
  '--',
  '\r',
  '\n',
  '\r\n',
  '\r\r\n',
  ' \n',
  '\t\r\n',
  'x'.repeat(75),
  'y'.repeat(76),
  'z'.repeat(77),
  'w'.repeat(200),
  '<a href="https://example.com/?a=1&b=2">link</a>',
  '\u0000',
  '\u007f',
  '\u00a0',
  '~',
  '!',
];

function randomText(next: () => number): string {
  const count = Math.floor(next() * 60);
  let text = '';
  for (let i = 0; i < count; i++) text += PIECES[Math.floor(next() * PIECES.length)];
  return text;
}

describe('encodeQuotedPrintable', () => {
  it.each([
    ['', ''],
    ['abc', 'abc'],
    ['a=b', 'a=3Db'],
    ['Grüße', 'Gr=C3=BC=C3=9Fe'],
    ['🎉', '=F0=9F=8E=89'],
    ['end ', 'end=20'],
    ['tab\t', 'tab=09'],
    ['a \nb', 'a=20\r\nb'],
    ['a  \r\nb', 'a =20\r\nb'],
    ['a b', 'a b'],
    ['one\ntwo\r\nthree', 'one\r\ntwo\r\nthree'],
    ['lone\rcr', 'lone=0Dcr'],
    ['x \ry', 'x =0Dy'],
    ['a'.repeat(75) + ' \nb', 'a'.repeat(75) + '=\r\n=20\r\nb'],
    ['\n', '\r\n'],
    ['.dot', '.dot'],
  ])('%j → %j', (text, encoded) => {
    expect(encodeQuotedPrintable(text)).toBe(encoded);
  });

  it('keeps lines of up to 76 characters whole and soft-breaks longer ones after 75', () => {
    expect(encodeQuotedPrintable('a'.repeat(75))).toBe('a'.repeat(75));
    expect(encodeQuotedPrintable('a'.repeat(76))).toBe('a'.repeat(76));
    expect(encodeQuotedPrintable('a'.repeat(76) + '\nb')).toBe('a'.repeat(76) + '\r\nb');
    expect(encodeQuotedPrintable('a'.repeat(77))).toBe('a'.repeat(75) + '=\r\naa');
    expect(encodeQuotedPrintable('a'.repeat(151))).toBe('a'.repeat(75) + '=\r\n' + 'a'.repeat(76));
    expect(encodeQuotedPrintable('a'.repeat(152))).toBe('a'.repeat(75) + '=\r\n' + 'a'.repeat(75) + '=\r\naa');
  });

  it('never splits an escape across a soft break', () => {
    // 74 literals leave room for one more character before the "=", not for "=C3".
    expect(encodeQuotedPrintable('a'.repeat(74) + 'üb')).toBe('a'.repeat(74) + '=\r\n=C3=BCb');
    expect(encodeQuotedPrintable('a'.repeat(72) + 'üb')).toBe('a'.repeat(72) + '=C3=\r\n=BCb');
    // At the end of a line the escape may take the 76th column.
    expect(encodeQuotedPrintable('a'.repeat(73) + '=')).toBe('a'.repeat(73) + '=3D');
    expect(encodeQuotedPrintable('a'.repeat(74) + '=')).toBe('a'.repeat(74) + '=\r\n=3D');
    expect(encodeQuotedPrintable('a'.repeat(73) + ' \nb')).toBe('a'.repeat(73) + '=20\r\nb');
  });

  it.each([
    'plain text',
    'trailing spaces   \nand tabs\t\t\r\nend  ',
    'x'.repeat(5000),
    '='.repeat(300),
    'ü'.repeat(300),
    '🎉'.repeat(100),
    '漢字かな交じり文'.repeat(40),
    'a'.repeat(75) + '\n' + 'b'.repeat(76) + '\r\n' + 'c'.repeat(77) + '\n',
    '\r\r\r\n\n\r\n\r',
    ' ',
    '\t',
  ])('round-trips %#', (text) => {
    roundTrip(text);
  });

  it('round-trips 3,000 random texts', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const text = randomText(random(seed));
      try {
        roundTrip(text);
      } catch (error) {
        throw new Error(`seed ${seed}, text ${JSON.stringify(text)}: ${(error as Error).message}`);
      }
    }
  });

  it('gives the same result when called again after a larger input (scratch buffers are reused)', () => {
    const small = 'Grüße, a=b \n';
    const first = encodeQuotedPrintable(small);
    encodeQuotedPrintable('漢'.repeat(100_000));
    encodeQuotedPrintable('x'.repeat(2_000_000));
    expect(encodeQuotedPrintable(small)).toBe(first);
    roundTrip('漢'.repeat(100_000) + ' \n' + 'y'.repeat(1000));
  });
});
