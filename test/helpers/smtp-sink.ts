// A real SMTP server (smtp-server) for tests to deliver to. It records every message that it
// answered 250, with the envelope, the raw bytes and the parsed form, and can be told to answer
// RCPT or DATA with an error (per recipient, or the first N times).
// A message counts as received only when its 250 goes out on a live connection: a DATA reply that
// was held until after the client died never reached it, so the client rightly sends it again.
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';

export interface ReceivedMessage {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
  messageId: string;
}

export interface SinkRule {
  /** Reply with this error when the recipient matches. */
  recipient?: RegExp;
  /** Only the first `times` matching attempts (default: always). */
  times?: number;
  code: number;
  message: string;
  at?: 'rcpt' | 'data';
}

export interface SmtpSink {
  port: number;
  url: string;
  messages: ReceivedMessage[];
  rules: SinkRule[];
  attempts: number;
  /** While set, DATA replies wait for this promise (to hold messages in flight). */
  hold: Promise<void> | null;
  /** How many fully received messages are waiting on `hold` right now. */
  held: number;
  /** Connections currently open (a killed client's connections leave this count once closed). */
  openConnections: number;
  /** Connections that a client reset or dropped mid-transaction (ECONNRESET, EPIPE, …). */
  connectionErrors: number;
  waitForCount(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

const CLIENT_GONE = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED']);

/** `listen`: where to listen (default 127.0.0.1 on a random port); MX tests use other loopback addresses. */
export async function startSmtpSink(
  opts: Partial<SMTPServerOptions> = {},
  listen: { host?: string; port?: number } = {},
): Promise<SmtpSink> {
  const sink: SmtpSink = {
    port: 0,
    url: '',
    messages: [],
    rules: [],
    attempts: 0,
    hold: null,
    held: 0,
    openConnections: 0,
    connectionErrors: 0,
    async waitForCount(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (sink.messages.length < n) {
        if (Date.now() > until) throw new Error(`sink got ${sink.messages.length} of ${n} messages`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return sink.messages;
    },
    close: () =>
      new Promise((resolve) => {
        // smtp-server waits for open connections up to its closeTimeout (30 s by default, as long as a
        // test hook may take): a client that left one open is named after 2 s and cut off after 5 s.
        // (A client that just sent QUIT is still closing when the sink closes: that takes milliseconds.)
        const connections = (server as unknown as { connections: Set<unknown> }).connections;
        const watch = setTimeout(
          () => process.stderr.write(`smtp sink: ${connections.size} connection(s) still open 2 s into its close\n`),
          2000,
        );
        server.close(() => {
          clearTimeout(watch);
          resolve();
        });
      }),
  };

  const matchRule = (recipient: string, at: 'rcpt' | 'data'): SinkRule | undefined => {
    const rule = sink.rules.find(
      (r) =>
        (r.at ?? 'rcpt') === at &&
        (!r.recipient || r.recipient.test(recipient)) &&
        (r.times === undefined || r.times > 0),
    );
    if (rule && rule.times !== undefined) rule.times--;
    return rule;
  };
  const smtpError = (rule: SinkRule) => Object.assign(new Error(rule.message), { responseCode: rule.code });
  const closedSessions = new Set<string>();

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 50 * 1024 * 1024,
    closeTimeout: 5000,
    ...opts,
    onConnect(session, callback) {
      sink.openConnections++;
      if (opts.onConnect) return opts.onConnect(session, callback);
      callback();
    },
    onClose(session, callback) {
      sink.openConnections--;
      closedSessions.add(session.id);
      opts.onClose?.(session, callback);
    },
    onRcptTo(address, _session, callback) {
      sink.attempts++;
      const rule = matchRule(address.address, 'rcpt');
      callback(rule ? smtpError(rule) : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks);
        const to = session.envelope.rcptTo.map((r) => r.address);
        const rule = to.map((t) => matchRule(t, 'data')).find(Boolean);
        if (rule) return callback(smtpError(rule));
        const mailFrom = session.envelope.mailFrom;
        const parsed = await simpleParser(raw);
        // Checked right before the reply, with no await in between, so that once a test sets
        // `hold` no further message is answered until it resolves.
        // A hold replaced while waiting is waited for as well; one that merely resolved is done.
        for (let hold = sink.hold; hold; hold = sink.hold === hold ? null : sink.hold) {
          sink.held++;
          await hold.finally(() => sink.held--);
        }
        if (closedSessions.has(session.id)) return callback(); // nobody is listening for this reply
        sink.messages.push({
          from: mailFrom ? mailFrom.address : '',
          to,
          raw,
          parsed,
          messageId: parsed.messageId ?? '',
        });
        callback();
      });
    },
  });
  // A client that goes away mid-transaction (a killed Posthorn, a pool closed at shutdown) resets
  // its connection; smtp-server re-emits that on the server, where an EventEmitter without an
  // 'error' listener would throw it as an unhandled error of the test run. Resets are part of the
  // scenarios tested; anything else is still reported.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code && CLIENT_GONE.has(err.code)) sink.connectionErrors++;
    else console.error('smtp sink error', err);
  });
  const host = listen.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(listen.port ?? 0, host, () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  sink.port = (server.server.address() as AddressInfo).port;
  sink.url = `smtp://${host}:${sink.port}?starttls=off`;
  return sink;
}

/**
 * For long runs that only count messages by their envelope and Message-ID: every 200 ms the raw
 * bytes and the parsed form of what arrived are dropped. Returns the timer (clearInterval it).
 */
export function keepHeadersOnly(sink: SmtpSink): NodeJS.Timeout {
  return setInterval(() => {
    for (const m of sink.messages) {
      if (m.raw.length) {
        m.raw = Buffer.alloc(0);
        (m as { parsed: unknown }).parsed = null;
      }
    }
  }, 200);
}
