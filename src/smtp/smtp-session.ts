// One SMTP connection of Posthorn's own server (smtp-listener.ts): the protocol of RFC 5321 with
// PIPELINING, SIZE, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, STARTTLS (RFC 3207) and AUTH PLAIN and
// LOGIN (RFC 4954). What a command means for the account (keys, addresses, the accept) is the
// handlers'; they answer by resolving, or by throwing an error that carries its `responseCode`
// (its `message` is the reply's text after the code, e.g. `5.7.8 Authentication failed`).
//
// Commands are taken one at a time: while a handler runs, what the client pipelined waits in the
// buffer, so replies go out in order. Input after STARTTLS that arrived before the handshake is
// thrown away (it was sent in the clear and must not be read as if it came over TLS).
import type net from 'node:net';
import tls from 'node:tls';
import { DataReader } from './smtp-data.ts';
import { parseCommandLine, parsePathArgument } from './smtp-command.ts';
import { beginAuth, continueAuth, type AuthOutcome, type AuthStep, type Credentials } from './smtp-auth.ts';

export type { Credentials } from './smtp-auth.ts';

export interface ReceivedData {
  /** The message as sent, dot-unstuffed; null when it was larger than the size limit. */
  raw: Buffer | null;
  bytes: number;
  /** The most bytes of this message held in memory at once. */
  peakHeld: number;
}

export interface SmtpHandlers<L> {
  /** The handlers' own state of a new connection. */
  locals(): L;
  auth(credentials: Credentials, session: SmtpSession<L>): Promise<void>;
  mailFrom(address: string, session: SmtpSession<L>): Promise<void>;
  rcptTo(address: string, session: SmtpSession<L>): Promise<void>;
  /** Resolves with the text of the 250 reply (e.g. `2.0.0 Ok: queued as …`). */
  data(message: ReceivedData, session: SmtpSession<L>): Promise<string>;
  /** A handler failed with something other than a reply: the client gets a 451. */
  unexpected(error: unknown): void;
}

export interface SmtpSessionOptions<L> {
  hostname: string;
  banner: string;
  /** STARTTLS is offered when set. */
  secureContext: tls.SecureContext | null;
  allowInsecureAuth: boolean;
  maxMessageBytes: number;
  idleTimeoutMs: number;
  handlers: SmtpHandlers<L>;
}

/** A command line longer than this (without its end) closes the connection. RFC 5321 says 512. */
const MAX_LINE = 4096;
/** Unknown or malformed commands a client may send before it is shown the door. */
const MAX_BAD_COMMANDS = 10;
const EMPTY = Buffer.alloc(0);
const LOCAL_ERROR = '451 4.3.0 Local error in processing; try again later';

export class SmtpSession<L> {
  readonly remoteAddress: string;
  secure = false;
  /** The name the client gave in HELO/EHLO; null before. */
  clientName: string | null = null;
  /** The user name of a successful AUTH. */
  user: string | null = null;
  readonly envelope: { mailFrom: string | null; rcptTo: string[] } = { mailFrom: null, rcptTo: [] };
  readonly locals: L;

  private socket: net.Socket;
  private buffer: Buffer = EMPTY;
  /** A handler (or the TLS handshake) is running: input waits. */
  private busy = false;
  private reader: DataReader | null = null;
  private authStep: AuthStep | null = null;
  private badCommands = 0;
  private closing = false;
  /** The idle timer fired while a handler ran. */
  private idleWhileBusy = false;
  /** Between the 220 to STARTTLS and the end of the handshake. */
  private handshaking = false;
  private ended = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);

  constructor(
    socket: net.Socket,
    private readonly opts: SmtpSessionOptions<L>,
    private readonly onClose: (session: SmtpSession<L>) => void,
  ) {
    this.socket = socket;
    this.remoteAddress = normaliseAddress(socket.remoteAddress ?? '');
    this.locals = opts.handlers.locals();
    this.attach(socket);
    socket.setNoDelay(true);
    this.write(`220 ${opts.hostname} ESMTP ${opts.banner}`);
  }

  /** Ends the connection at the next moment nothing is in progress (server shutdown). */
  shutdown(): void {
    this.closing = true;
    if (!this.busy && !this.reader) this.quit('421 4.3.2 Service shutting down');
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.ended = true;
      this.onClose(this);
    });
    socket.on('timeout', () => {
      // A client waiting for our answer (a commit that takes long) is not idle: its time starts
      // again once we have answered (see idle()).
      // A client that asked for TLS and then does not shake hands is dropped (no reply can be read).
      if (this.handshaking) socket.destroy();
      else if (this.busy) this.idleWhileBusy = true;
      else this.quit('421 4.4.2 Idle too long; closing connection');
    });
    socket.setTimeout(this.opts.idleTimeoutMs);
  }

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    // A client that keeps sending while a handler runs is not read further until it is done.
    if (this.busy && this.buffer.length > MAX_LINE * 16) this.socket.pause();
    this.process();
  }

  /** Works through the buffer until it is empty, a handler runs, or the connection ends. */
  private process(): void {
    while (!this.busy && !this.ended && this.buffer.length > 0) {
      if (this.reader) {
        const input = this.buffer;
        this.buffer = EMPTY;
        this.readData(input);
        continue;
      }
      const lf = this.buffer.indexOf(0x0a);
      if (lf < 0) {
        if (this.buffer.length > MAX_LINE) this.quit('500 5.5.2 Line too long');
        break; // (not return: a paused socket must be resumed below to read the rest of the line)
      }
      const end = lf > 0 && this.buffer[lf - 1] === 0x0d ? lf - 1 : lf;
      const line = this.buffer.toString('utf8', 0, end);
      this.buffer = this.buffer.subarray(lf + 1);
      if (end > MAX_LINE) this.quit('500 5.5.2 Line too long');
      else this.command(line);
    }
    if (!this.busy && this.socket.isPaused()) this.socket.resume();
  }

  private command(line: string): void {
    let refusal: string | undefined;
    if (this.authStep) {
      const step = this.authStep;
      this.authStep = null;
      refusal = this.authOutcome(continueAuth(step, line));
    } else {
      const { verb, args } = parseCommandLine(line);
      refusal = this.dispatch(verb, args);
    }
    if (refusal) this.bad(refusal);
  }

  /** Carries out one command; returns the reply of a refusal (a malformed or misplaced command). */
  private dispatch(verb: string, args: string): string | undefined {
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        return this.hello(verb, args);
      case 'STARTTLS':
        return this.startTls(args);
      case 'AUTH':
        return this.auth(args);
      case 'MAIL':
        return this.mail(args);
      case 'RCPT':
        return this.rcpt(args);
      case 'DATA':
        return this.dataCommand(args);
      case 'RSET':
        this.resetTransaction();
        this.write('250 2.0.0 Flushed');
        return;
      case 'NOOP':
        this.write('250 2.0.0 OK');
        return;
      case 'QUIT':
        this.bye();
        return;
      case 'VRFY':
        this.write('252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery');
        return;
      case 'HELP':
        this.write('214 2.0.0 See https://tools.ietf.org/html/rfc5321');
        return;
      default:
        return '500 5.5.2 Command not recognized';
    }
  }

  private hello(verb: string, args: string): string | undefined {
    if (!args) return `501 5.5.4 Syntax: ${verb} hostname`;
    this.clientName = args.split(' ')[0]!;
    this.resetTransaction();
    const greeting = `${this.opts.hostname} Hello ${this.clientName} [${this.remoteAddress}]`;
    if (verb === 'HELO') {
      this.write(`250 ${greeting}`);
      return;
    }
    const lines = [
      greeting,
      'PIPELINING',
      '8BITMIME',
      'SMTPUTF8',
      'ENHANCEDSTATUSCODES',
      `SIZE ${this.opts.maxMessageBytes}`,
      'AUTH PLAIN LOGIN',
    ];
    if (this.opts.secureContext && !this.secure) lines.push('STARTTLS');
    this.write(lines.map((text, i) => `250${i === lines.length - 1 ? ' ' : '-'}${text}`).join('\r\n'));
  }

  private startTls(args: string): string | undefined {
    if (this.secure) return '503 5.5.1 TLS already active';
    if (!this.opts.secureContext) return '502 5.5.1 STARTTLS not available';
    if (args) return '501 5.5.4 Syntax: STARTTLS';
    this.write('220 2.0.0 Ready to start TLS');
    this.busy = true;
    this.handshaking = true;
    this.buffer = EMPTY;
    const plain = this.socket;
    plain.removeListener('data', this.onData);
    plain.removeAllListeners('close');
    plain.removeAllListeners('timeout');
    plain.setTimeout(0);
    const secure = new tls.TLSSocket(plain, {
      isServer: true,
      secureContext: this.opts.secureContext,
      requestCert: false,
      rejectUnauthorized: false,
    });
    this.socket = secure;
    this.attach(secure);
    secure.once('secure', () => {
      // RFC 3207 4.2: everything known before the handshake is forgotten.
      this.handshaking = false;
      this.secure = true;
      this.clientName = null;
      this.user = null;
      this.resetTransaction();
      this.idle();
      this.afterHandler(); // (a shutdown that came during the handshake ends the connection now)
    });
  }

  private auth(args: string): string | undefined {
    if (!this.clientName) return '503 5.5.1 Send EHLO first';
    if (this.user !== null) return '503 5.5.1 Already authenticated';
    if (this.envelope.mailFrom !== null) return '503 5.5.1 AUTH not allowed during a mail transaction';
    if (!this.secure && !this.opts.allowInsecureAuth) return '538 5.7.11 Must issue a STARTTLS command first';
    return this.authOutcome(beginAuth(args));
  }

  private authOutcome(outcome: AuthOutcome): string | undefined {
    switch (outcome.kind) {
      case 'refused':
        return outcome.reply;
      case 'challenge':
        this.authStep = outcome.step;
        this.write(outcome.reply);
        return;
      case 'credentials':
        this.authenticate(outcome.credentials);
    }
  }

  private authenticate(credentials: Credentials): void {
    this.run(this.opts.handlers.auth(credentials, this), () => {
      this.user = credentials.username;
      this.write('235 2.7.0 Authentication successful');
    });
  }

  private mail(args: string): string | undefined {
    if (!this.clientName) return '503 5.5.1 Send HELO/EHLO first';
    if (this.envelope.mailFrom !== null) return '503 5.5.1 Nested MAIL command';
    const path = parsePathArgument(args, 'FROM');
    if (!path) return '501 5.5.4 Syntax: MAIL FROM:<address>';
    for (const [name, value] of path.params) {
      const refusal = this.mailParameterRefusal(name, value);
      if (refusal) return refusal;
    }
    this.run(this.opts.handlers.mailFrom(path.address, this), () => {
      this.envelope.mailFrom = path.address;
      this.write('250 2.1.0 Accepted');
    });
  }

  private mailParameterRefusal(name: string, value: string | true): string | undefined {
    switch (name) {
      case 'SIZE':
        if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) return '501 5.5.4 Syntax: SIZE=<number of bytes>';
        if (Number(value) > this.opts.maxMessageBytes)
          return `552 5.3.4 Message size exceeds the fixed maximum message size of ${this.opts.maxMessageBytes} bytes`;
        return;
      case 'BODY':
        if (typeof value !== 'string' || !/^(7BIT|8BITMIME)$/i.test(value))
          return '501 5.5.4 BODY must be 7BIT or 8BITMIME';
        return;
      case 'SMTPUTF8':
      case 'AUTH':
        return;
      default:
        return `555 5.5.4 Unsupported parameter ${name}`;
    }
  }

  private rcpt(args: string): string | undefined {
    if (this.envelope.mailFrom === null) return '503 5.5.1 Need MAIL command';
    const path = parsePathArgument(args, 'TO');
    if (!path) return '501 5.5.4 Syntax: RCPT TO:<address>';
    if (path.params.size > 0) return `555 5.5.4 Unsupported parameter ${[...path.params.keys()][0]}`;
    this.run(this.opts.handlers.rcptTo(path.address, this), () => {
      this.envelope.rcptTo.push(path.address);
      this.write('250 2.1.5 Accepted');
    });
  }

  private dataCommand(args: string): string | undefined {
    if (args) return '501 5.5.4 Syntax: DATA';
    if (this.envelope.mailFrom === null) return '503 5.5.1 Need MAIL command';
    if (this.envelope.rcptTo.length === 0) return '503 5.5.1 Need RCPT command';
    this.reader = new DataReader(this.opts.maxMessageBytes);
    this.write('354 End data with <CR><LF>.<CR><LF>');
  }

  private readData(input: Buffer): void {
    const reader = this.reader!;
    const result = reader.feed(input);
    if (!result.done) return;
    this.reader = null;
    this.buffer = result.rest;
    const received = { raw: result.raw, bytes: result.bytes, peakHeld: reader.peakHeld };
    let text = '';
    const accepted = this.opts.handlers.data(received, this).then((reply) => {
      text = reply;
    });
    // Accepted or refused, the transaction is over.
    this.run(
      accepted.finally(() => this.resetTransaction()),
      () => this.write(`250 ${text}`),
    );
  }

  /** Runs a handler: its success writes through `ok`, its refusal becomes the reply. */
  private run(work: Promise<void>, ok: () => void): void {
    this.busy = true;
    work.then(
      () => {
        this.idle();
        ok();
        this.afterHandler();
      },
      (error: unknown) => {
        this.idle();
        this.replyError(error);
        this.afterHandler();
      },
    );
  }

  /** A handler is done. A timer that fired meanwhile is not restarted by our writes: restart it here. */
  private idle(): void {
    this.busy = false;
    if (!this.idleWhileBusy) return;
    this.idleWhileBusy = false;
    this.socket.setTimeout(this.opts.idleTimeoutMs);
  }

  private afterHandler(): void {
    if (this.closing) this.shutdown();
    else this.process();
  }

  private replyError(error: unknown): void {
    const code = (error as { responseCode?: unknown } | null)?.responseCode;
    if (typeof code === 'number' && code >= 400 && code < 600) {
      // A refusal's text may quote what the client sent (a header, an address): a line break in it
      // would end the reply early and let the rest read as another reply.
      this.write(`${code} ${(error as Error).message.replace(/[\r\n]+/g, ' ')}`);
      return;
    }
    this.opts.handlers.unexpected(error);
    this.write(LOCAL_ERROR);
  }

  private resetTransaction(): void {
    this.envelope.mailFrom = null;
    this.envelope.rcptTo = [];
  }

  /** Answers a malformed or unknown command; too many of them end the connection. */
  private bad(reply: string): void {
    this.badCommands++;
    if (this.badCommands > MAX_BAD_COMMANDS) this.quit('421 4.7.0 Too many bad commands; closing connection');
    else this.write(reply);
  }

  private quit(reply: string): void {
    if (this.ended) return;
    this.ended = true;
    this.buffer = EMPTY;
    if (!this.socket.destroyed) this.socket.end(`${reply}\r\n`);
  }

  /**
   * QUIT: once the 221 is with the kernel the connection is closed outright. Many clients reset the
   * connection after reading the 221; a socket still open for reading would turn that into an
   * ECONNRESET error object per message.
   */
  private bye(): void {
    this.write('221 2.0.0 Bye');
    this.ended = true;
    this.buffer = EMPTY;
    // (Over TLS the 221 may still be on its way through the TLS layer: that connection ends gently.)
    if (!this.secure && this.socket.writableLength === 0) this.socket.destroy();
    else this.socket.end();
  }

  private write(reply: string): void {
    if (!this.ended && !this.socket.destroyed) this.socket.write(`${reply}\r\n`);
  }
}

/** `::ffff:127.0.0.1` (an IPv4 client of a dual-stack listener) reads as `127.0.0.1`. */
function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
