// The cheapest SMTP server that still speaks real SMTP: it counts messages at the end of DATA and
// looks for a DKIM-Signature header in the first bytes, without parsing anything. The first
// message is kept whole, so its signature can be verified properly once.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

const DKIM = Buffer.from('dkim-signature:');
const HEADER_SCAN_BYTES = 8192;

export interface CountingSink {
  url: string;
  received: number;
  dkimSigned: number;
  bytes: number;
  firstAt: number | null;
  lastAt: number | null;
  sample: Buffer | null;
  reset(): void;
  waitFor(n: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** True when the header block (before the first empty line) has a DKIM-Signature field. */
function hasDkimHeader(head: Buffer): boolean {
  const end = head.indexOf('\r\n\r\n');
  const block = (end >= 0 ? head.subarray(0, end) : head).toString('latin1').toLowerCase();
  return block.startsWith(DKIM.toString()) || block.includes('\n' + DKIM.toString());
}

/**
 * `listen`: where (default 127.0.0.1, a random port); the mx benchmark puts one on each of several
 * loopback addresses.
 */
export async function startCountingSink(
  listen: { host?: string; port?: number } = {},
  /** Called at the end of each message's DATA, before the reply (the latency benchmark times arrivals). */
  onMessage?: (recipients: string[]) => void,
  /**
   * Milliseconds to wait before the reply to each message's DATA: a remote server's time per message
   * (the scale benchmark's latency-bound mode). The message is counted when it arrives.
   */
  replyDelayMs = 0,
): Promise<CountingSink> {
  const sink: CountingSink = {
    url: '',
    received: 0,
    dkimSigned: 0,
    bytes: 0,
    firstAt: null,
    lastAt: null,
    sample: null,
    reset() {
      sink.received = sink.dkimSigned = sink.bytes = 0;
      sink.firstAt = sink.lastAt = null;
      sink.sample = null;
    },
    async waitFor(n, timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (sink.received < n) {
        if (Date.now() > until)
          throw new Error(`the sink counted ${sink.received} of ${n} messages in ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
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
      let keep: Buffer[] | null = sink.sample === null && sink.received === 0 ? [] : null;
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
        if (head && hasDkimHeader(head)) sink.dkimSigned++;
        head = null;
        if (keep && sink.sample === null) sink.sample = Buffer.concat(keep);
        keep = null;
        onMessage?.(session.envelope.rcptTo.map((r) => r.address));
        if (replyDelayMs > 0) setTimeout(() => callback(null, 'Ok: queued'), replyDelayMs);
        else callback(null, 'Ok: queued');
      });
    },
  });
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => resolve());
  });
  sink.url = `smtp://${host}:${(server.server.address() as AddressInfo).port}?starttls=off`;
  return sink;
}
