// A streaming CSV parser (RFC 4180, plus what spreadsheets really write): text arrives in chunks of
// any size, complete records come out. Quoted fields may hold delimiters, quotes ("") and line
// breaks; records end in LF, CRLF or CR; a leading byte order mark is dropped; blank lines are
// skipped. A record with broken quoting is returned with an `error` (the rest of the file still
// parses); a field that never ends (an unclosed quote swallowing the file) stops the parse.

export interface CsvRecord {
  fields: string[];
  /** Why the record is malformed, or null. */
  error: string | null;
}

export class CsvError extends Error {}

export type Delimiter = ',' | ';' | '\t';

export interface CsvOptions {
  /** 'auto' picks the most frequent of , ; and tab in the first line (outside quotes). */
  delimiter?: Delimiter | 'auto';
  /** A field longer than this stops the parse: almost always a quote that is never closed. */
  maxFieldLength?: number;
}

const QUOTE = 34;
const HEAD_LIMIT = 64 * 1024;
const LF = 10;
const CR = 13;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted, // saw " inside a quoted field: an escaped quote or the closing one
  AfterQuoted,
}

export function detectDelimiter(text: string): Delimiter {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && c in counts) counts[c as Delimiter]++;
  }
  let best: Delimiter = ',';
  for (const d of [';', '\t'] as const) if (counts[d] > counts[best]) best = d;
  return best;
}

export class CsvParser {
  private delimiter: number | null;
  private readonly maxFieldLength: number;
  private state = State.FieldStart;
  private fields: string[] = [];
  private field = '';
  private sawQuote = false;
  private error: string | null = null;
  private pendingCr = false;
  private started = false;
  private head = '';

  constructor(opts: CsvOptions = {}) {
    const d = opts.delimiter ?? 'auto';
    this.delimiter = d === 'auto' ? null : d.charCodeAt(0);
    this.maxFieldLength = opts.maxFieldLength ?? 1_000_000;
  }

  /** Parses the next chunk; appends every record it completes to `out`. */
  push(text: string, out: CsvRecord[]): void {
    let i = 0;
    if (this.delimiter === null) {
      // The delimiter is read from the header line, so wait until the whole line is here.
      this.head += text;
      if (!/[\r\n]/.test(this.head) && this.head.length < HEAD_LIMIT) return;
      text = this.head;
      this.head = '';
      this.delimiter = detectDelimiter(text.replace(/^\uFEFF/, '')).charCodeAt(0);
    }
    if (!this.started) {
      if (text.length === 0) return;
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) i = 1;
    }
    const n = text.length;
    const d = this.delimiter;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (i < n && text.charCodeAt(i) === LF) i++;
    }
    while (i < n) {
      switch (this.state) {
        case State.FieldStart:
          if (text.charCodeAt(i) === QUOTE) {
            this.state = State.Quoted;
            this.sawQuote = true;
            i++;
            break;
          }
          this.state = State.Unquoted;
          break;
        case State.Unquoted: {
          let j = i;
          while (j < n) {
            const c = text.charCodeAt(j);
            if (c === d || c === LF || c === CR) break;
            j++;
          }
          this.append(text, i, j);
          if (j === n) return;
          i = this.separator(text, j, out);
          break;
        }
        case State.Quoted: {
          const j = text.indexOf('"', i);
          if (j < 0) {
            this.append(text, i, n);
            return;
          }
          this.append(text, i, j);
          i = j + 1;
          this.state = State.QuoteInQuoted;
          break;
        }
        case State.QuoteInQuoted:
          if (text.charCodeAt(i) === QUOTE) {
            this.field += '"';
            i++;
            this.state = State.Quoted;
          } else this.state = State.AfterQuoted;
          break;
        case State.AfterQuoted: {
          const c = text.charCodeAt(i);
          if (c === d || c === LF || c === CR) {
            i = this.separator(text, i, out);
          } else {
            // `"ab"c`: keep the text, but the record is not trustworthy.
            this.error ??= `column ${this.fields.length + 1} has text after its closing quote`;
            this.state = State.Unquoted;
          }
          break;
        }
      }
    }
  }

  /** Ends the input; appends the last record, if any, to `out`. */
  end(out: CsvRecord[]): void {
    if (this.delimiter === null) {
      this.delimiter = detectDelimiter(this.head.replace(/^\uFEFF/, '')).charCodeAt(0);
      const head = this.head;
      this.head = '';
      this.push(head, out);
    }
    if (this.state === State.Quoted)
      this.error ??= `column ${this.fields.length + 1} opens a quote that is never closed`;
    if (this.fields.length > 0 || this.field !== '' || this.sawQuote) this.endRecord(out);
    this.state = State.FieldStart;
  }

  private append(text: string, from: number, to: number) {
    if (to === from) return;
    this.field = this.field === '' ? text.slice(from, to) : this.field + text.slice(from, to);
    if (this.field.length > this.maxFieldLength) {
      throw new CsvError(`a field is longer than ${this.maxFieldLength} characters; is a quote never closed?`);
    }
  }

  /** Handles the delimiter or line break at j; returns where parsing goes on. */
  private separator(text: string, j: number, out: CsvRecord[]): number {
    const c = text.charCodeAt(j);
    this.state = State.FieldStart;
    if (c !== LF && c !== CR) {
      this.fields.push(this.field);
      this.field = '';
      return j + 1;
    }
    // A blank line is no record.
    if (this.fields.length > 0 || this.field !== '' || this.sawQuote) this.endRecord(out);
    if (c === CR) {
      if (j + 1 < text.length) return text.charCodeAt(j + 1) === LF ? j + 2 : j + 1;
      this.pendingCr = true;
    }
    return j + 1;
  }

  private endRecord(out: CsvRecord[]) {
    this.fields.push(this.field);
    out.push({ fields: this.fields, error: this.error });
    this.fields = [];
    this.field = '';
    this.sawQuote = false;
    this.error = null;
  }
}
