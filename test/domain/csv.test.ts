import { describe, expect, it } from 'vitest';
import { CsvError, CsvParser, detectDelimiter, type CsvOptions, type CsvRecord } from '../../src/domain/csv.ts';

function parse(chunks: string[], opts?: CsvOptions): CsvRecord[] {
  const parser = new CsvParser(opts);
  const out: CsvRecord[] = [];
  for (const c of chunks) parser.push(c, out);
  parser.end(out);
  return out;
}
const fields = (records: CsvRecord[]) => records.map((r) => r.fields);

const TRICKY =
  '\uFEFFemail,name,note\r\n"a@x.de","Doe, Jane","said ""hi""\r\nthen left"\r\nb@x.de,Bob,\r\n\r\nc@x.de,"",plain\rd@x.de,"multi\nline",x\n';
const TRICKY_FIELDS = [
  ['email', 'name', 'note'],
  ['a@x.de', 'Doe, Jane', 'said "hi"\r\nthen left'],
  ['b@x.de', 'Bob', ''],
  ['c@x.de', '', 'plain'],
  ['d@x.de', 'multi\nline', 'x'],
];

describe('CSV parser', () => {
  it('reads quoted delimiters, escaped quotes, line breaks in quotes, CRLF/CR/LF, a BOM and blank lines', () => {
    const records = parse([TRICKY]);
    expect(fields(records)).toEqual(TRICKY_FIELDS);
    expect(records.every((r) => r.error === null)).toBe(true);
  });

  it('gives the same records however the text is split into chunks', () => {
    for (let a = 0; a <= TRICKY.length; a++) {
      for (let b = a; b <= TRICKY.length; b += 7) {
        expect(fields(parse([TRICKY.slice(0, a), TRICKY.slice(a, b), TRICKY.slice(b)])), `split at ${a}/${b}`).toEqual(
          TRICKY_FIELDS,
        );
      }
    }
    expect(fields(parse([...TRICKY]))).toEqual(TRICKY_FIELDS); // one character at a time
  });

  it('keeps the last record without a final line break, and a trailing empty field', () => {
    expect(fields(parse(['a,b\nc,']))).toEqual([
      ['a', 'b'],
      ['c', ''],
    ]);
    expect(fields(parse(['a\n""']))).toEqual([['a'], ['']]);
    expect(fields(parse(['']))).toEqual([]);
    expect(fields(parse(['\n\r\n\n']))).toEqual([]);
  });

  it('detects ; and tab from the header line, ignoring quoted ones', () => {
    expect(detectDelimiter('email;firstname;lastname\na,b,c,d,e')).toBe(';');
    expect(detectDelimiter('email\tname')).toBe('\t');
    expect(detectDelimiter('"a;b;c",d')).toBe(',');
    expect(detectDelimiter('email')).toBe(',');
    expect(fields(parse(['email;name\n"x;y";z\n']))).toEqual([
      ['email', 'name'],
      ['x;y', 'z'],
    ]);
    expect(fields(parse(['a;b,c\n'], { delimiter: ',' }))).toEqual([['a;b', 'c']]);
  });

  it('marks a record with text after a closing quote, and goes on with the next one', () => {
    const records = parse(['a,"b"c,d\ne,f,g\n']);
    expect(records[0]).toEqual({ fields: ['a', 'bc', 'd'], error: 'column 2 has text after its closing quote' });
    expect(records[1]).toEqual({ fields: ['e', 'f', 'g'], error: null });
  });

  it('takes a quote inside an unquoted field literally', () => {
    expect(parse(['5" disk,x\n'])).toEqual([{ fields: ['5" disk', 'x'], error: null }]);
  });

  it('marks a quote that is never closed at the end of the input', () => {
    const records = parse(['a,b\nc,"open\n']);
    expect(records[1]).toEqual({ fields: ['c', 'open\n'], error: 'column 2 opens a quote that is never closed' });
  });

  it('stops at a field longer than the limit instead of buffering the whole file', () => {
    const parser = new CsvParser({ maxFieldLength: 100 });
    const out: CsvRecord[] = [];
    parser.push('h1,h2\na,"', out);
    expect(() => parser.push('x'.repeat(101), out)).toThrow(CsvError);
  });
});

describe('CSV delimiter detection across chunks', () => {
  it('waits for the whole header line before choosing', () => {
    const text = '\uFEFFemail;first;last\r\na@x.de;"A;1";B\r\n';
    for (let a = 0; a <= text.length; a++) {
      expect(fields(parse([text.slice(0, a), text.slice(a)])), `split at ${a}`).toEqual([
        ['email', 'first', 'last'],
        ['a@x.de', 'A;1', 'B'],
      ]);
    }
    expect(fields(parse(['a;b']))).toEqual([['a', 'b']]);
  });
});
