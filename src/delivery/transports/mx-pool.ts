// SMTP connections to mail exchangers, kept open and reused across messages: per exchanger
// address, local address and TLS requirement, idle connections wait a few seconds for the next
// message before they say QUIT. Connections are opened by us (from the chosen local address) with
// TCP_NODELAY, which nodemailer also sets itself since 10.6 (without it each message waited ~40 ms
// for a delayed ACK), and handed to nodemailer's SMTPConnection, which speaks EHLO, STARTTLS and the
// transaction on them, pipelined when the exchanger offers PIPELINING (test/delivery/transports).
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { DeliveryDetails } from './transport.ts';

/** How a connection uses TLS: when offered, unverified (opportunistic); required and verified (MTA-STS); never. */
export type TlsMode = 'opportunistic' | 'verify' | 'none';

export interface Destination {
  /** The exchanger's name: SNI, and the name its certificate must carry when verified. */
  host: string;
  address: string;
  port: number;
  localAddress?: string;
  tls: TlsMode;
}

export interface SmtpFailure extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
}

export interface PoolOptions {
  /** Our EHLO name. */
  hostname: string;
  timeoutMs: number;
  /** Trusted CAs for verified TLS (the system's and any extra ones); undefined: Node's defaults. */
  ca?: string[];
  idleMs?: number;
  maxAgeMs?: number;
  maxMessages?: number;
}

export class MxConnection {
  messages = 0;
  readonly openedAt = Date.now();
  private ended = false;
  idleTimer: NodeJS.Timeout | null = null;
  /** Ends the transaction in progress with a failure; set while send() runs. */
  private cut: ((failure: SmtpFailure) => void) | null = null;

  constructor(
    readonly key: string,
    readonly smtp: SMTPConnection,
  ) {
    smtp.once('end', () => (this.ended = true));
    // Errors while idle (the server closing an unused connection) end the connection; in use they
    // are picked up by send().
    smtp.on('error', () => (this.ended = true));
  }

  get usable(): boolean {
    return !this.ended;
  }

  /** The TLS session of the connection, if it was upgraded. */
  tls(): DeliveryDetails['tls'] | undefined {
    if (!this.smtp.secure) return undefined;
    const socket = this.smtp._socket as TLSSocket;
    return {
      protocol: socket.getProtocol?.() ?? 'unknown',
      cipher: socket.getCipher?.()?.name ?? 'unknown',
      verified: socket.authorized,
    };
  }

  /**
   * Sends one message; resolves with the final reply or the failure (a lost connection included).
   * A transaction still unanswered after `deadlineMs` (an exchanger trickling its replies, which no
   * socket timeout notices) fails with ETIMEDOUT and ends the connection.
   */
  send(
    envelope: { from: string; to: string[] },
    raw: Buffer,
    deadlineMs: number,
  ): Promise<{ response: string } | SmtpFailure> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (value: { response: string } | SmtpFailure) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        this.cut = null;
        this.smtp.off('error', onError);
        this.smtp.off('end', onEnd);
        resolve(value);
      };
      this.cut = settle;
      const deadline = setTimeout(() => this.abort(`no final reply within ${deadlineMs} ms`, 'ETIMEDOUT'), deadlineMs);
      const onError = (error: SmtpFailure) => settle(error);
      const onEnd = () =>
        settle(Object.assign(new Error('connection closed during the transaction'), { code: 'ECONNECTION' }));
      this.smtp.on('error', onError);
      this.smtp.once('end', onEnd);
      this.messages++;
      this.smtp.send({ ...envelope, size: raw.length }, raw, (error, info) =>
        settle(error ? error : { response: info.response || '250 OK' }),
      );
    });
  }

  /** Fails the transaction in progress, if any, with `message` and closes the connection under it. */
  abort(message: string, code = 'EABORT'): void {
    const cut = this.cut;
    if (!cut) return;
    this.ended = true;
    cut(Object.assign(new Error(message), { code }));
    this.smtp.close();
  }

  /** RSET after a refused transaction, so the connection can carry the next message. */
  reset(): Promise<boolean> {
    return new Promise((resolve) => {
      if (!this.usable) {
        resolve(false);
        return;
      }
      const onEnd = () => resolve(false);
      this.smtp.once('end', onEnd);
      this.smtp.reset((error) => {
        this.smtp.off('end', onEnd);
        resolve(!error);
      });
    });
  }

  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.ended = true;
    try {
      this.smtp.quit();
    } catch {
      this.smtp.close();
    }
    // QUIT is a courtesy: a server that does not answer it is not waited for.
    setTimeout(() => this.smtp.close(), 2000).unref();
  }
}

export class MxConnectionPool {
  private readonly idle = new Map<string, MxConnection[]>();
  private readonly all = new Set<MxConnection>();
  private readonly idleMs: number;
  private readonly maxAgeMs: number;
  private readonly maxMessages: number;

  constructor(private readonly opts: PoolOptions) {
    this.idleMs = opts.idleMs ?? 5000;
    this.maxAgeMs = opts.maxAgeMs ?? 300_000;
    this.maxMessages = opts.maxMessages ?? 1000;
  }

  /** Open connections (idle or in use), for tests and logs. */
  get size(): number {
    return this.all.size;
  }

  static keyOf(d: Destination): string {
    return `${d.host}|${d.address}|${d.port}|${d.localAddress ?? ''}|${d.tls}`;
  }

  /** An idle connection to the destination, or a new one (connected, greeted, EHLO and STARTTLS done). */
  async acquire(d: Destination): Promise<MxConnection> {
    const key = MxConnectionPool.keyOf(d);
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const c = list.pop()!;
      if (c.idleTimer) clearTimeout(c.idleTimer);
      c.idleTimer = null;
      if (c.usable) return c;
      this.all.delete(c);
    }
    const c = new MxConnection(key, await this.open(d));
    this.all.add(c);
    c.smtp.once('end', () => this.forget(c));
    return c;
  }

  /** Back to the pool for the next message, or closed when it is worn out or broken. */
  release(c: MxConnection, reusable: boolean): void {
    if (!reusable || !c.usable || c.messages >= this.maxMessages || Date.now() - c.openedAt > this.maxAgeMs) {
      this.forget(c);
      c.close();
      return;
    }
    const list = this.idle.get(c.key) ?? [];
    list.push(c);
    this.idle.set(c.key, list);
    c.idleTimer = setTimeout(() => {
      this.forget(c);
      c.close();
    }, this.idleMs);
    c.idleTimer.unref();
  }

  private forget(c: MxConnection): void {
    this.all.delete(c);
    const list = this.idle.get(c.key);
    if (!list) return;
    const at = list.indexOf(c);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.idle.delete(c.key);
  }

  async close(): Promise<void> {
    for (const c of [...this.all]) c.close();
    this.all.clear();
    this.idle.clear();
  }

  private connectSocket(d: Destination): Promise<net.Socket> {
    const timeoutMs = Math.min(this.opts.timeoutMs, 30_000);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: d.address, port: d.port, localAddress: d.localAddress, noDelay: true });
      const fail = (error: Error) => {
        socket.destroy();
        reject(Object.assign(error, { code: (error as SmtpFailure).code ?? 'ECONNECTION', command: 'CONN' }));
      };
      socket.setTimeout(timeoutMs, () =>
        fail(Object.assign(new Error(`no connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      );
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.setTimeout(0);
        socket.removeListener('error', fail);
        resolve(socket);
      });
    });
  }

  private async open(d: Destination): Promise<SMTPConnection> {
    const socket = await this.connectSocket(d);
    const timeout = Math.min(this.opts.timeoutMs, 30_000);
    const smtp = new SMTPConnection({
      connection: socket,
      host: d.address,
      port: d.port,
      name: this.opts.hostname,
      // 'verify' (MTA-STS): STARTTLS or nothing, with a certificate valid for the exchanger's name.
      // 'opportunistic': STARTTLS when offered, any certificate (RFC 7435); a server that refuses
      // STARTTLS after offering it is used in clear.
      requireTLS: d.tls === 'verify',
      opportunisticTLS: d.tls === 'opportunistic',
      ignoreTLS: d.tls === 'none',
      tls: {
        servername: d.host,
        rejectUnauthorized: d.tls === 'verify',
        ...(d.tls === 'verify' ? { minVersion: 'TLSv1.2' as const, ca: this.opts.ca } : {}),
      },
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: this.opts.timeoutMs,
      logger: false,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        smtp.close();
        reject(error);
      };
      smtp.once('error', onError);
      smtp.connect(() => {
        smtp.off('error', onError);
        resolve();
      });
    });
    return smtp;
  }
}
