// A counting SMTP sink for the mailing benchmark. Like counting-sink.ts it parses nothing per
// message beyond the header block, but it also proves that a mailing reached everyone exactly once:
// it keeps every Message-ID in a Set (a million 50-byte strings is ~100 MB, in this process, not
// the server's) and marks each envelope recipient's number in a bitmap (the generated addresses
// are `<name>.<i>@<domain>`, so recipient i is bit i). The first message is kept whole, so its
// signature, tracking and personalization can be checked once.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

const HEADER_SCAN_BYTES = 8192;
const MESSAGE_ID = /^message-id:[ \t]*(?:\r\n[ \t]+)?<([^>\r\n]+)>/im;
const DKIM = /^dkim-signature:/im;
const RECIPIENT_NUMBER = /^[^.@]+\.(\d+)@/;

export interface MailingSink {
  url: string;
  received: number;
  dkimSigned: number;
  bytes: number;
  firstAt: number | null;
  lastAt: number | null;
  /** Time at which the sink had counted each tenth of `expected` (index 1 = 10 %, …, 10 = 100 %). */
  decileAt: Array<number | null>;
  messageIds: Set<string>;
  /** Messages whose header block had no Message-ID. */
  withoutMessageId: number;
  /** Envelope recipients seen that were not `<name>.<i>@…` with i < expected, or that came twice. */
  unexpectedRecipients: number;
  duplicateRecipients: number;
  distinctRecipients: number;
  sample: Buffer | null;
  waitFor(n: number, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** A sink with nothing counted yet; both sinks fill in the counts and the url. */
export function newMailingSink(close: () => Promise<void>): MailingSink {
  const sink: MailingSink = {
    url: '',
    received: 0,
    dkimSigned: 0,
    bytes: 0,
    firstAt: null,
    lastAt: null,
    decileAt: Array.from({ length: 11 }, () => null),
    messageIds: new Set(),
    withoutMessageId: 0,
    unexpectedRecipients: 0,
    duplicateRecipients: 0,
    distinctRecipients: 0,
    sample: null,
    /** Resolves true once `n` messages arrived, false when `timeoutMs` passed first. */
    async waitFor(n, timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (sink.received < n) {
        if (Date.now() > until) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    },
    close,
  };
  return sink;
}

export async function startMailingSink(expected: number): Promise<MailingSink> {
  const seen = new Uint8Array(Math.ceil(expected / 8));
  const decileStep = expected / 10;
  const sink = newMailingSink(() => new Promise((resolve) => server.close(() => resolve())));

  const markRecipient = (address: string) => {
    const m = RECIPIENT_NUMBER.exec(address);
    const i = m ? Number(m[1]) : -1;
    if (!(i >= 0 && i < expected)) {
      sink.unexpectedRecipients++;
      return;
    }
    const bit = 1 << (i & 7);
    if (seen[i >> 3]! & bit) sink.duplicateRecipients++;
    else {
      seen[i >> 3]! |= bit;
      sink.distinctRecipients++;
    }
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    size: 50 * 1024 * 1024,
    maxClients: 10_000,
    onData(stream, session, callback) {
      let head: Buffer | null = Buffer.alloc(0);
      let keep: Buffer[] | null = sink.received === 0 && sink.sample === null ? [] : null;
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (keep) keep.push(chunk);
        if (head !== null && head.length < HEADER_SCAN_BYTES) head = Buffer.concat([head, chunk]);
      });
      stream.on('end', () => {
        const now = Date.now();
        sink.received++;
        sink.bytes += size;
        sink.firstAt ??= now;
        sink.lastAt = now;
        const decile = Math.floor(sink.received / decileStep);
        if (decile <= 10 && sink.decileAt[decile] === null) sink.decileAt[decile] = now;
        const text = head!.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        const block = end >= 0 ? text.slice(0, end) : text;
        if (DKIM.test(block)) sink.dkimSigned++;
        const id = MESSAGE_ID.exec(block);
        // A copy: the regex capture is a slice that would keep the whole header block alive (~30 MB per 40,000).
        if (id) sink.messageIds.add(Buffer.from(id[1]!, 'latin1').toString('latin1'));
        else sink.withoutMessageId++;
        for (const rcpt of session.envelope.rcptTo) markRecipient(rcpt.address.toLowerCase());
        head = null;
        if (keep && sink.sample === null) sink.sample = Buffer.concat(keep);
        keep = null;
        callback(null, 'Ok: queued');
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  sink.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}?starttls=off`;
  return sink;
}
