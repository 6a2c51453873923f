// A lean counting SMTP sink for the mailing benchmark: the same accounting as mailing-sink.ts
// (built on smtp-server, ~0.2–0.36 ms CPU per message, which the server under test would lose),
// but speaking just enough SMTP on node:net for nodemailer's pool and for pipelining clients.
// Per message it does one Buffer.indexOf pass over the DATA bytes (which finds both the
// terminator and the dot-stuffed lines), keeps only the first 8 KB for the header scan, and answers
// every command of a received chunk with one socket write. What it still costs (~0.1 ms) is mostly
// the kernel and Node's socket layer: nodemailer needs four round trips per message.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { newMailingSink, type MailingSink } from './mailing-sink.ts';

const HEADER_SCAN_BYTES = 8192;
// The same patterns as mailing-sink.ts, so both sinks count the same things. `d` (match indices):
// the Message-ID is cut from the Buffer, because a regexp capture is a slice that would keep the
// whole header block alive in the Set (~30 MB per 40,000 messages instead of ~3).
const MESSAGE_ID = /^message-id:[ \t]*(?:\r\n[ \t]+)?<([^>\r\n]+)>/dim;
const DKIM = /^dkim-signature:/im;
const RECIPIENT_NUMBER = /^[^.@]+\.(\d+)@/;
// A command line without a line break this long is not SMTP; don't buffer it forever.
const MAX_COMMAND_LINE = 16 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
// Every line of DATA that starts with a dot is either the terminator (`\r\n.\r\n`) or dot-stuffed
// (`\n..`), so this one needle finds both.
const LF_DOT = Buffer.from('\n.');
const HEADER_END = Buffer.from('\r\n\r\n');
// DATA starts at a line start: scanning as if it were preceded by a line break lets a leading
// `.\r\n` (empty message) or `..` be found like any other; these two bytes are never content.
const VIRTUAL_LINE_START = Buffer.from('\r\n');

const GREETING = '220 fast-sink ESMTP\r\n';
const EHLO_REPLY = '250-fast-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n';
const OK = '250 2.0.0 Ok\r\n';
const START_DATA = '354 End data with <CR><LF>.<CR><LF>\r\n';
const QUEUED = '250 2.0.0 Ok: queued\r\n';
const BYE = '221 2.0.0 Bye\r\n';
const SYNTAX_ERROR = '501 5.5.4 Syntax error in parameters\r\n';
const UNKNOWN = '502 5.5.2 Error: command not recognized\r\n';
const LINE_TOO_LONG = '500 5.5.2 Error: line too long\r\n';

/** The address of `MAIL FROM:<…>` / `RCPT TO:<…>` (after the keyword), or null when malformed. */
function pathArgument(line: string, keywordLength: number): string | null {
  const rest = line.slice(keywordLength).trimStart();
  if (rest.startsWith('<')) {
    const end = rest.indexOf('>');
    return end > 0 ? rest.slice(1, end) : null;
  }
  // Lenient: a bare address without brackets, up to the first parameter.
  const bare = rest.split(' ')[0]!;
  return bare.length > 0 ? bare : null;
}

class Accounting {
  readonly sink: MailingSink;
  private readonly seen: Uint8Array;
  private readonly decileStep: number;

  constructor(
    private readonly expected: number,
    sink: MailingSink,
  ) {
    this.sink = sink;
    this.seen = new Uint8Array(Math.ceil(expected / 8));
    this.decileStep = expected / 10;
  }

  /** Whether a message whose DATA starts now is to be kept whole (the first one, like mailing-sink). */
  wantsSample(): boolean {
    return this.sink.received === 0 && this.sink.sample === null;
  }

  count(size: number, head: Buffer | null, recipients: string[], kept: Buffer[] | null): void {
    const sink = this.sink;
    const now = Date.now();
    sink.received++;
    sink.bytes += size;
    sink.firstAt ??= now;
    sink.lastAt = now;
    const decile = Math.floor(sink.received / this.decileStep);
    if (decile <= 10 && sink.decileAt[decile] === null) sink.decileAt[decile] = now;
    let block = '';
    if (head !== null) {
      const end = head.indexOf(HEADER_END);
      // latin1: one character per byte, so string positions are Buffer positions.
      block = head.toString('latin1', 0, end >= 0 ? end : head.length);
    }
    if (DKIM.test(block)) sink.dkimSigned++;
    const id = MESSAGE_ID.exec(block);
    if (id) {
      const [start, end] = id.indices![1]!;
      sink.messageIds.add(head!.toString('latin1', start, end));
    } else sink.withoutMessageId++;
    for (const address of recipients) this.markRecipient(address);
    if (kept !== null && sink.sample === null) sink.sample = Buffer.concat(kept);
  }

  private markRecipient(address: string): void {
    const m = RECIPIENT_NUMBER.exec(address);
    const i = m ? Number(m[1]) : -1;
    if (!(i >= 0 && i < this.expected)) {
      this.sink.unexpectedRecipients++;
      return;
    }
    const bit = 1 << (i & 7);
    if (this.seen[i >> 3]! & bit) this.sink.duplicateRecipients++;
    else {
      this.seen[i >> 3]! |= bit;
      this.sink.distinctRecipients++;
    }
  }
}

/** One client connection: command lines until DATA, then content until the terminator. */
class SinkConnection {
  private inData = false;
  private closed = false;
  /** Start of a command line still waiting for its line break. */
  private pendingLine: Buffer | null = null;
  private recipients: string[] = [];
  private replies = '';
  // DATA state. `carry` holds the last few bytes of the previous chunk that could begin the
  // terminator or a stuffed dot; its first `carryVirtual` bytes are VIRTUAL_LINE_START, not content.
  private carry: Buffer | null = null;
  private carryVirtual = 0;
  private size = 0;
  private head: Buffer | null = null;
  private kept: Buffer[] | null = null;

  constructor(
    private readonly socket: net.Socket,
    private readonly accounting: Accounting,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    // A client going away mid-transaction is normal here; the message simply isn't counted.
    socket.on('error', () => {});
    socket.write(GREETING, 'latin1');
  }

  private onChunk(chunk: Buffer): void {
    if (this.closed) return;
    let pos = 0;
    while (pos < chunk.length && !this.closed) {
      if (this.inData) {
        const end = this.feedData(chunk, pos);
        if (end < 0) break;
        pos = end;
      } else {
        pos = this.feedCommands(chunk, pos);
      }
    }
    // One write for every reply this chunk earned: pipelined commands get their replies together.
    if (this.replies.length > 0) {
      this.socket.write(this.replies, 'latin1');
      this.replies = '';
    }
    if (this.closed) this.socket.end();
  }

  /** Runs command lines from `pos`; returns where DATA content begins, or chunk.length. */
  private feedCommands(chunk: Buffer, pos: number): number {
    let buf = chunk;
    // buf index i is chunk index i + shift.
    let shift = 0;
    let start = pos;
    if (this.pendingLine !== null) {
      buf = Buffer.concat([this.pendingLine, chunk.subarray(pos)]);
      shift = pos - this.pendingLine.length;
      start = 0;
      this.pendingLine = null;
    }
    while (start < buf.length) {
      const lf = buf.indexOf(LF, start);
      if (lf < 0) {
        if (buf.length - start > MAX_COMMAND_LINE) {
          this.replies += LINE_TOO_LONG;
          this.closed = true;
          return chunk.length;
        }
        // Copied: a short remainder must not keep a whole socket chunk alive.
        this.pendingLine = Buffer.from(buf.subarray(start));
        return chunk.length;
      }
      const lineEnd = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
      this.command(buf.toString('latin1', start, lineEnd));
      start = lf + 1;
      if (this.inData || this.closed) return start + shift;
    }
    return chunk.length;
  }

  private command(line: string): void {
    const verb = line.slice(0, 4).toUpperCase();
    if (line.length > 4 && line[4] !== ' ') {
      this.replies += UNKNOWN;
      return;
    }
    switch (verb) {
      case 'EHLO':
        this.recipients = [];
        this.replies += EHLO_REPLY;
        return;
      case 'HELO':
        this.recipients = [];
        this.replies += '250 fast-sink\r\n';
        return;
      case 'MAIL':
        if (line.slice(5, 10).toUpperCase() !== 'FROM:' || pathArgument(line, 10) === null) {
          this.replies += SYNTAX_ERROR;
          return;
        }
        this.recipients = [];
        this.replies += OK;
        return;
      case 'RCPT': {
        const address = line.slice(5, 8).toUpperCase() === 'TO:' ? pathArgument(line, 8) : null;
        if (address === null) {
          this.replies += SYNTAX_ERROR;
          return;
        }
        this.recipients.push(address.toLowerCase());
        this.replies += OK;
        return;
      }
      case 'DATA':
        this.startData();
        this.replies += START_DATA;
        return;
      case 'RSET':
        this.recipients = [];
        this.replies += OK;
        return;
      case 'NOOP':
        this.replies += OK;
        return;
      case 'QUIT':
        this.replies += BYE;
        this.closed = true;
        return;
      default:
        this.replies += UNKNOWN;
    }
  }

  private startData(): void {
    this.inData = true;
    this.carry = VIRTUAL_LINE_START;
    this.carryVirtual = VIRTUAL_LINE_START.length;
    this.size = 0;
    this.head = null;
    this.kept = this.accounting.wantsSample() ? [] : null;
  }

  /**
   * Consumes DATA content from `chunk` at `pos`. Returns the position after the terminator when
   * the message ended in this chunk, -1 when all of it was content (or held back in `carry`).
   */
  private feedData(chunk: Buffer, pos: number): number {
    let buf = chunk;
    let virtual = 0;
    // buf index i is chunk index i + shift.
    let shift = 0;
    let lo = pos;
    const carry = this.carry;
    if (carry !== null) {
      this.carry = null;
      // The virtual line start only matters when the content itself begins with a dot.
      if (this.carryVirtual === carry.length && chunk[pos] !== DOT) {
        // Nothing to prepend.
      } else {
        buf = Buffer.concat([carry, chunk.subarray(pos)]);
        virtual = this.carryVirtual;
        shift = pos - carry.length;
        lo = 0;
      }
      this.carryVirtual = 0;
    }
    const len = buf.length;
    let segment = lo + virtual;
    let from = lo;
    let cut = len;
    for (;;) {
      const p = buf.indexOf(LF_DOT, from);
      if (p < 0) {
        // Hold back a trailing line break (or half of one): the next chunk may start with the dot.
        const last = buf[len - 1];
        if (last === LF) cut = len - 2 >= lo && buf[len - 2] === CR ? len - 2 : len - 1;
        else if (last === CR) cut = len - 1;
        break;
      }
      const after = p + 2;
      const crBefore = p - 1 >= lo && buf[p - 1] === CR;
      if (after >= len) {
        cut = crBefore ? p - 1 : p;
        break;
      }
      const c = buf[after];
      if (c === DOT) {
        // Dot-stuffed line: drop the first dot.
        this.content(buf, segment, p + 1);
        segment = after;
      } else if (c === CR && crBefore) {
        if (after + 1 >= len) {
          cut = p - 1;
          break;
        }
        if (buf[after + 1] === LF) {
          // The CRLF before the dot belongs to the message, as with smtp-server.
          this.content(buf, segment, p + 1);
          this.endData();
          return after + 2 + shift;
        }
      }
      from = after;
    }
    this.content(buf, segment, cut);
    if (cut < len) {
      this.carry = Buffer.from(buf.subarray(cut));
      this.carryVirtual = Math.max(0, virtual - cut);
    }
    return -1;
  }

  private content(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.size += end - start;
    if (this.kept !== null) this.kept.push(buf.subarray(start, end));
    const headLength = this.head === null ? 0 : this.head.length;
    if (headLength < HEADER_SCAN_BYTES) {
      // Usually the whole header block is in one piece: keep a view, copy only when it's split.
      const piece = buf.subarray(start, Math.min(end, start + HEADER_SCAN_BYTES - headLength));
      this.head = this.head === null ? piece : Buffer.concat([this.head, piece]);
    }
  }

  private endData(): void {
    this.accounting.count(this.size, this.head, this.recipients, this.kept);
    this.inData = false;
    this.recipients = [];
    this.head = null;
    this.kept = null;
    this.replies += QUEUED;
  }
}

export async function startFastSink(expected: number): Promise<MailingSink> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new SinkConnection(socket, accounting);
  });
  // Connections still open at the end (a client that never said QUIT) must not keep us waiting.
  const sink = newMailingSink(
    () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  );
  const accounting = new Accounting(expected, sink);
  server.maxConnections = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  sink.url = `smtp://127.0.0.1:${(server.address() as AddressInfo).port}?starttls=off`;
  return sink;
}
