// Posthorn's own SMTP server for submission: a net.Server whose connections are SmtpSessions.
// The inbound receiver uses the smtp-server library; submission does not, because on two cores that
// library's per-connection and per-command cost alone caps a client that sends one message per
// connection at about 2,300–2,900 messages a second when it does nothing with them (BENCHMARKS.md,
// "SMTP submission against Postfix"), while the issue asks for twice Postfix's accept rate with
// every message committed. This protocol code does only what a submission server needs.
import net from 'node:net';
import tls from 'node:tls';
import { SmtpSession, type SmtpHandlers } from './smtp-session.ts';

export interface SmtpListenerOptions<L> {
  hostname: string;
  /** Words after `ESMTP` in the greeting. */
  banner: string;
  /** PEM key and certificate for STARTTLS; without them STARTTLS is not offered. */
  tls: { key: string; cert: string } | null;
  allowInsecureAuth: boolean;
  maxMessageBytes: number;
  /** A connection that sends nothing for this long is closed (421). */
  idleTimeoutMs?: number;
  /** How long close() lets transactions in progress finish before it drops their connections. */
  closeTimeoutMs?: number;
  handlers: SmtpHandlers<L>;
}

export class SmtpListener<L> {
  readonly server: net.Server;
  private readonly sessions = new Set<SmtpSession<L>>();
  private readonly closeTimeoutMs: number;

  constructor(opts: SmtpListenerOptions<L>) {
    const sessionOptions = {
      hostname: opts.hostname,
      banner: opts.banner,
      secureContext: opts.tls ? tls.createSecureContext({ key: opts.tls.key, cert: opts.tls.cert }) : null,
      allowInsecureAuth: opts.allowInsecureAuth,
      maxMessageBytes: opts.maxMessageBytes,
      idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
      handlers: opts.handlers,
    };
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 3000;
    const forget = (session: SmtpSession<L>) => this.sessions.delete(session);
    this.server = net.createServer((socket) => {
      this.sessions.add(new SmtpSession(socket, sessionOptions, forget));
    });
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting; idle connections get 421 at once, busy ones after their transaction. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.shutdown();
    const deadline = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
    }, this.closeTimeoutMs);
    return closed.finally(() => clearTimeout(deadline));
  }
}
