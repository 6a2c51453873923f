// The submission server's own SMTP protocol (smtp-listener.ts, smtp-session.ts) against a real
// listener on a free port with small in-test handlers: raw sockets where the bytes on the wire are
// the subject (one write holding several commands, a TLS upgrade done by hand), nodemailer where a
// real client is.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { once } from 'node:events';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SmtpListener, type SmtpListenerOptions } from '../../src/smtp/smtp-listener.ts';
import type { Credentials } from '../../src/smtp/smtp-session.ts';
import { loadTlsCredentials } from '../../src/smtp/tls.ts';

const LIMIT = 1_000_000;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-smtp-session-'));
const credentials = loadTlsCredentials({ certFile: null, keyFile: null, dataDir, hostname: 'localhost' });
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const reply = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** Fails (instead of hanging until the test timeout) when `promise` takes longer than `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`${what}: nothing after ${ms} ms`)))]);
}

interface Harness {
  port: number;
  listener: SmtpListener<object>;
  received: Array<{ raw: Buffer; mailFrom: string | null; rcptTo: string[] }>;
  auths: Credentials[];
  unexpected: ReturnType<typeof vi.fn>;
  /** Resolves when the data handler is first called. */
  dataStarted: Promise<void>;
  close(): Promise<void>;
}

/** Listeners a test started; whichever a failed test left listening is closed at the end. */
const listeners: Array<SmtpListener<object>> = [];
afterAll(() => Promise.all(listeners.filter((l) => l.server.listening).map((l) => l.close())));

/**
 * A listener on 127.0.0.1:0. Auth accepts the password "good"; MAIL FROM <crash@…> throws a plain
 * Error, <multiline@…> is refused with line breaks in its text, <slow@…> takes 100 ms; data records
 * the message (after `dataDelayMs`) and refuses one over the limit with 552, as the submission
 * server does.
 */
async function start(opts: Partial<SmtpListenerOptions<object>> = {}, dataDelayMs = 0): Promise<Harness> {
  const received: Harness['received'] = [];
  const auths: Credentials[] = [];
  const unexpected = vi.fn();
  let started = () => {};
  const dataStarted = new Promise<void>((resolve) => (started = resolve));
  const listener = new SmtpListener<object>({
    hostname: 'mail.test',
    banner: 'Posthorn test',
    tls: credentials,
    allowInsecureAuth: false,
    maxMessageBytes: LIMIT,
    ...opts,
    handlers: {
      locals: () => ({}),
      auth: async (creds) => {
        auths.push(creds);
        if (creds.password !== 'good') throw reply(535, '5.7.8 nope');
      },
      mailFrom: async (address) => {
        if (address.startsWith('crash@')) throw new Error('boom');
        if (address.startsWith('multiline@')) throw reply(550, '5.6.0 first line\r\n250 2.0.0 forged\nlast');
        if (address.startsWith('slow@')) await sleep(100);
      },
      rcptTo: async () => {},
      data: async (message, session) => {
        started();
        await sleep(dataDelayMs);
        if (message.raw === null) throw reply(552, '5.3.4 Message size exceeds the limit');
        received.push({ raw: message.raw, mailFrom: session.envelope.mailFrom, rcptTo: [...session.envelope.rcptTo] });
        return `2.0.0 Ok: queued as ${received.length}`;
      },
      unexpected,
    },
  });
  await listener.listen(0, '127.0.0.1');
  listeners.push(listener);
  const port = (listener.server.address() as net.AddressInfo).port;
  return { port, listener, received, auths, unexpected, dataStarted, close: () => listener.close() };
}

interface Client {
  greeting: string;
  /** Writes bytes as they are. */
  send(data: string | Buffer): void;
  /** The next reply (its lines joined by CRLF); rejects when the connection closes first or after 5 s. */
  reply(): Promise<string>;
  /** Sends a line and waits for its reply. */
  cmd(line: string): Promise<string>;
  /** TLS over the connection (after the 220 to STARTTLS). */
  startTls(): Promise<void>;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
  /** Replies received and not yet taken. */
  unread(): string[];
  end(): void;
}

async function connect(port: number): Promise<Client> {
  let socket: net.Socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  let isClosed = false;
  const ready: string[] = [];
  const waiting: Array<{ resolve: (r: string) => void; reject: (e: Error) => void }> = [];
  let closedResolve = () => {};
  const closed = new Promise<void>((resolve) => (closedResolve = resolve));
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (let m = /^\d{3} .*\r\n/m.exec(buffer); m; m = /^\d{3} .*\r\n/m.exec(buffer)) {
      const text = buffer.slice(0, m.index + m[0].length - 2);
      buffer = buffer.slice(m.index + m[0].length);
      const next = waiting.shift();
      if (next) next.resolve(text);
      else ready.push(text);
    }
  };
  const onClose = () => {
    isClosed = true;
    closedResolve();
    for (const w of waiting.splice(0)) w.reject(new Error('connection closed'));
  };
  const attach = (s: net.Socket) => {
    s.on('data', onData);
    s.on('error', () => {});
    s.on('close', onClose);
  };
  attach(socket);
  await once(socket, 'connect');
  const client: Client = {
    greeting: '',
    send: (data) => void socket.write(data),
    reply: () =>
      within(
        new Promise((resolve, reject) => {
          const r = ready.shift();
          if (r !== undefined) resolve(r);
          else if (isClosed) reject(new Error('connection closed'));
          else waiting.push({ resolve, reject });
        }),
        5000,
        'reply',
      ),
    cmd(line) {
      socket.write(`${line}\r\n`);
      return client.reply();
    },
    async startTls() {
      socket.off('data', onData);
      socket.off('close', onClose);
      const secure = tls.connect({ socket, rejectUnauthorized: false, servername: 'localhost' });
      attach(secure);
      await once(secure, 'secureConnect');
      socket = secure;
    },
    closed,
    unread: () => [...ready, ...(buffer ? [buffer] : [])],
    end: () => socket.destroy(),
  };
  client.greeting = await client.reply();
  return client;
}

/** A connection past EHLO. */
async function hello(port: number): Promise<Client> {
  const client = await connect(port);
  expect(await client.cmd('EHLO client.test')).toMatch(/^250 /m);
  return client;
}

/** A connection past EHLO, STARTTLS and EHLO again. */
async function secured(port: number): Promise<Client> {
  const client = await hello(port);
  expect(await client.cmd('STARTTLS')).toMatch(/^220 /);
  await client.startTls();
  expect(await client.cmd('EHLO client.test')).toMatch(/^250 /m);
  return client;
}

const transport = (port: number, opts: Record<string, unknown>) =>
  nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, tls: { rejectUnauthorized: false }, ...opts });

const message = { from: 'a@example.test', to: 'b@example.test', subject: 'Hi', text: 'Hello' };

let h: Harness;
beforeAll(async () => {
  h = await start();
});

describe('greeting and EHLO', () => {
  it('greets with the hostname and banner', async () => {
    const client = await connect(h.port);
    client.end();
    expect(client.greeting).toBe('220 mail.test ESMTP Posthorn test');
  });

  it('lists the extensions, STARTTLS only before TLS, and SIZE with the limit', async () => {
    const client = await connect(h.port);
    const before = await client.cmd('EHLO client.test');
    expect(before.split('\r\n')).toEqual([
      '250-mail.test Hello client.test [127.0.0.1]',
      '250-PIPELINING',
      '250-8BITMIME',
      '250-SMTPUTF8',
      '250-ENHANCEDSTATUSCODES',
      `250-SIZE ${LIMIT}`,
      '250-AUTH PLAIN LOGIN',
      '250 STARTTLS',
    ]);
    expect(await client.cmd('STARTTLS')).toBe('220 2.0.0 Ready to start TLS');
    await client.startTls();
    const after = await client.cmd('EHLO client.test');
    expect(after).toContain(`250-SIZE ${LIMIT}`);
    expect(after).not.toContain('STARTTLS');
    expect(await client.cmd('STARTTLS')).toMatch(/^503 5\.5\.1/);
    client.end();
  });

  it('answers HELO in one line, and a HELO without a name with 501', async () => {
    const client = await connect(h.port);
    expect(await client.cmd('HELO')).toMatch(/^501 5\.5\.4/);
    expect(await client.cmd('HELO client.test')).toBe('250 mail.test Hello client.test [127.0.0.1]');
    client.end();
  });

  it('neither offers nor accepts STARTTLS without TLS credentials', async () => {
    const plain = await start({ tls: null });
    const client = await connect(plain.port);
    expect(await client.cmd('EHLO client.test')).not.toContain('STARTTLS');
    expect(await client.cmd('STARTTLS')).toMatch(/^502 /);
    client.end();
    await plain.close();
  });
});

describe('command order', () => {
  it('wants EHLO before MAIL, MAIL before RCPT, RCPT before DATA, and no MAIL inside a transaction', async () => {
    const client = await connect(h.port);
    expect(await client.cmd('MAIL FROM:<a@example.test>')).toMatch(/^503 5\.5\.1/);
    await client.cmd('EHLO client.test');
    expect(await client.cmd('RCPT TO:<b@example.test>')).toMatch(/^503 5\.5\.1/);
    expect(await client.cmd('DATA')).toMatch(/^503 5\.5\.1/);
    expect(await client.cmd('MAIL FROM:<a@example.test>')).toBe('250 2.1.0 Accepted');
    expect(await client.cmd('DATA')).toBe('503 5.5.1 Need RCPT command');
    expect(await client.cmd('MAIL FROM:<a@example.test>')).toBe('503 5.5.1 Nested MAIL command');
    expect(await client.cmd('RSET')).toBe('250 2.0.0 Flushed');
    expect(await client.cmd('MAIL FROM:<a@example.test>')).toBe('250 2.1.0 Accepted');
    client.end();
  });

  it('answers NOOP, VRFY and HELP', async () => {
    const client = await connect(h.port);
    expect(await client.cmd('NOOP')).toBe('250 2.0.0 OK');
    expect(await client.cmd('VRFY someone')).toMatch(/^252 /);
    expect(await client.cmd('HELP')).toMatch(/^214 /);
    client.end();
  });
});

describe('MAIL FROM parameters', () => {
  it('refuses a declared SIZE over the limit with 552 and goes on', async () => {
    const client = await hello(h.port);
    expect(await client.cmd(`MAIL FROM:<a@example.test> SIZE=${LIMIT + 1}`)).toMatch(/^552 5\.3\.4 /);
    expect(await client.cmd(`MAIL FROM:<a@example.test> SIZE=${LIMIT} BODY=8BITMIME SMTPUTF8`)).toBe(
      '250 2.1.0 Accepted',
    );
    client.end();
  });

  it('refuses an unknown parameter with 555 and a bad SIZE with 501', async () => {
    const client = await hello(h.port);
    expect(await client.cmd('MAIL FROM:<a@example.test> RET=FULL')).toBe('555 5.5.4 Unsupported parameter RET');
    expect(await client.cmd('MAIL FROM:<a@example.test> SIZE=big')).toMatch(/^501 /);
    expect(await client.cmd('MAIL FROM:<a@example.test')).toMatch(/^501 /);
    client.end();
  });
});

describe('AUTH', () => {
  it('refuses AUTH before STARTTLS when insecure auth is off', async () => {
    const client = await hello(h.port);
    expect(await client.cmd(`AUTH PLAIN ${b64('\0u\0good')}`)).toBe('538 5.7.11 Must issue a STARTTLS command first');
    client.end();
    expect(h.auths).not.toContainEqual(expect.objectContaining({ username: 'u' }));
  });

  it('lets nodemailer authenticate after STARTTLS with PLAIN and with LOGIN', async () => {
    for (const authMethod of ['PLAIN', 'LOGIN']) {
      const user = `nm-${authMethod}`;
      const info = await transport(h.port, { requireTLS: true, authMethod, auth: { user, pass: 'good' } }).sendMail(
        message,
      );
      expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as \d+$/);
      expect(h.auths).toContainEqual({ method: authMethod, username: user, password: 'good' });
    }
  });

  it('refuses a wrong password with the handler’s 535, through nodemailer too', async () => {
    const client = await secured(h.port);
    expect(await client.cmd(`AUTH PLAIN ${b64('\0raw\0bad')}`)).toBe('535 5.7.8 nope');
    expect(await client.cmd(`AUTH PLAIN ${b64('\0raw\0good')}`)).toBe('235 2.7.0 Authentication successful');
    expect(await client.cmd(`AUTH PLAIN ${b64('\0raw\0good')}`)).toMatch(/^503 /);
    client.end();
    const refused = transport(h.port, { requireTLS: true, auth: { user: 'nm', pass: 'bad' } }).sendMail(message);
    await expect(refused).rejects.toMatchObject({ responseCode: 535 });
  });

  it('takes AUTH PLAIN without an initial response, and AUTH LOGIN with one', async () => {
    const client = await secured(h.port);
    expect(await client.cmd('AUTH PLAIN')).toBe('334 ');
    expect(await client.cmd(b64('\0plain-user\0good'))).toBe('235 2.7.0 Authentication successful');
    client.end();
    expect(h.auths).toContainEqual({ method: 'PLAIN', username: 'plain-user', password: 'good' });

    const login = await secured(h.port);
    expect(await login.cmd(`AUTH LOGIN ${b64('login-user')}`)).toBe('334 UGFzc3dvcmQ6');
    expect(await login.cmd(b64('good'))).toBe('235 2.7.0 Authentication successful');
    expect(await login.cmd('MAIL FROM:<a@example.test>')).toBe('250 2.1.0 Accepted');
    login.end();
    expect(h.auths).toContainEqual({ method: 'LOGIN', username: 'login-user', password: 'good' });
  });

  it('aborts on `*` with 501, and the session goes on', async () => {
    const client = await secured(h.port);
    expect(await client.cmd('AUTH LOGIN')).toBe('334 VXNlcm5hbWU6');
    expect(await client.cmd(b64('aborting'))).toBe('334 UGFzc3dvcmQ6');
    expect(await client.cmd('*')).toBe('501 5.0.0 Authentication aborted');
    expect(await client.cmd('NOOP')).toBe('250 2.0.0 OK');
    client.end();
    expect(h.auths.map((a) => a.username)).not.toContain('aborting');
  });
});

describe('STARTTLS', () => {
  it('throws away commands sent in the clear behind STARTTLS (no command injection)', async () => {
    const client = await hello(h.port);
    client.send('STARTTLS\r\nNOOP\r\n');
    expect(await client.reply()).toBe('220 2.0.0 Ready to start TLS');
    await client.startTls();
    // The first reply over TLS answers what was sent over TLS, not the NOOP.
    expect(await client.cmd('EHLO after.tls')).toMatch(/^250-mail\.test Hello after\.tls /);
    expect(await client.cmd('NOOP')).toBe('250 2.0.0 OK');
    expect(client.unread()).toEqual([]);
    client.end();
  });

  it('forgets the EHLO of before the handshake', async () => {
    const client = await hello(h.port);
    expect(await client.cmd('STARTTLS')).toMatch(/^220 /);
    await client.startTls();
    expect(await client.cmd('MAIL FROM:<a@example.test>')).toBe('503 5.5.1 Send HELO/EHLO first');
    client.end();
  });
});

describe('transactions', () => {
  it('answers pipelined MAIL, RCPT, RCPT, DATA in order, a slow handler holding the rest back', async () => {
    const client = await hello(h.port);
    client.send(
      'MAIL FROM:<slow@example.test>\r\nRCPT TO:<one@example.test>\r\nRCPT TO:<two@example.test>\r\nDATA\r\n',
    );
    const replies = [await client.reply(), await client.reply(), await client.reply(), await client.reply()];
    expect(replies).toEqual([
      '250 2.1.0 Accepted',
      '250 2.1.5 Accepted',
      '250 2.1.5 Accepted',
      '354 End data with <CR><LF>.<CR><LF>',
    ]);
    // The next command rides in the same write as the end of the message.
    client.send('Subject: pipelined\r\n\r\nbody\r\n.\r\nNOOP\r\n');
    expect(await client.reply()).toMatch(/^250 2\.0\.0 Ok: queued as \d+$/);
    expect(await client.reply()).toBe('250 2.0.0 OK');
    client.end();
    expect(h.received.at(-1)).toEqual({
      raw: Buffer.from('Subject: pipelined\r\n\r\nbody\r\n'),
      mailFrom: 'slow@example.test',
      rcptTo: ['one@example.test', 'two@example.test'],
    });
  });

  it('keeps the replies flowing when pipelined commands outgrow the read buffer during a slow handler', async () => {
    const client = await hello(h.port);
    const rcpts = Array.from({ length: 5000 }, (_, i) => `RCPT TO:<recipient-${i}@example.test>\r\n`);
    client.send(`MAIL FROM:<slow@example.test>\r\n${rcpts.join('')}DATA\r\n`);
    const replies: string[] = [];
    for (let i = 0; i < 5002; i++) replies.push(await client.reply());
    expect(replies.at(-1)).toMatch(/^354 /);
    expect(replies.filter((r) => r === '250 2.1.5 Accepted')).toHaveLength(5000);
    client.end();
  });

  it('hands the handler the body unstuffed (raw client and nodemailer)', async () => {
    const client = await hello(h.port);
    await client.cmd('MAIL FROM:<a@example.test>');
    await client.cmd('RCPT TO:<b@example.test>');
    expect(await client.cmd('DATA')).toMatch(/^354 /);
    expect(await client.cmd('..first\r\nmiddle\r\n..\r\n...dots\r\n.')).toMatch(/^250 /);
    client.end();
    expect(h.received.at(-1)!.raw.toString()).toBe('.first\r\nmiddle\r\n.\r\n..dots\r\n');

    await transport(h.port, { ignoreTLS: true }).sendMail({ ...message, text: 'line\n.hidden\n..two\n.' });
    const raw = h.received.at(-1)!.raw.toString();
    expect(raw).toContain('\r\n.hidden\r\n..two\r\n.');
    expect(raw).not.toContain('\r\n..hidden');
  });

  it('receives a message of several hundred KB in many writes byte for byte', async () => {
    const lines = Array.from(
      { length: 12_000 },
      (_, i) => (i % 7 === 0 ? '.' : '') + `line ${i} ${'x'.repeat(i % 80)}`,
    );
    const original = Buffer.from(lines.join('\r\n') + '\r\n');
    const stuffed = Buffer.from(original.toString().replace(/^\./gm, '..') + '.\r\n');
    expect(original.length).toBeGreaterThan(500_000);
    const client = await hello(h.port);
    await client.cmd('MAIL FROM:<a@example.test>');
    await client.cmd('RCPT TO:<b@example.test>');
    expect(await client.cmd('DATA')).toMatch(/^354 /);
    for (let at = 0; at < stuffed.length; at += 997) {
      client.send(stuffed.subarray(at, at + 997));
      if (at % (997 * 64) === 0) await sleep(1);
    }
    expect(await client.reply()).toMatch(/^250 2\.0\.0 Ok: queued as \d+$/);
    client.end();
    expect(h.received.at(-1)!.raw.equals(original)).toBe(true);
  });

  it('refuses a message over the limit sent without SIZE with 552 5.3.4, then takes RSET and the next', async () => {
    const client = await hello(h.port);
    await client.cmd('MAIL FROM:<a@example.test>');
    await client.cmd('RCPT TO:<b@example.test>');
    expect(await client.cmd('DATA')).toMatch(/^354 /);
    const line = 'y'.repeat(998) + '\r\n';
    for (let i = 0; i < Math.ceil((LIMIT * 1.2) / line.length); i++) client.send(line);
    expect(await client.cmd('.')).toMatch(/^552 5\.3\.4 /);
    expect(await client.cmd('RSET')).toBe('250 2.0.0 Flushed');
    await client.cmd('MAIL FROM:<a@example.test>');
    await client.cmd('RCPT TO:<b@example.test>');
    expect(await client.cmd('DATA')).toMatch(/^354 /);
    expect(await client.cmd('small\r\n.')).toMatch(/^250 2\.0\.0 Ok: queued/);
    client.end();
    expect(h.received.at(-1)!.raw.toString()).toBe('small\r\n');
  });
});

describe('errors and limits', () => {
  it('answers a handler’s own failure with 451 4.3.0 and reports it once', async () => {
    const before = h.unexpected.mock.calls.length;
    const client = await hello(h.port);
    expect(await client.cmd('MAIL FROM:<crash@example.test>')).toBe(
      '451 4.3.0 Local error in processing; try again later',
    );
    expect(await client.cmd('MAIL FROM:<a@example.test>')).toBe('250 2.1.0 Accepted');
    client.end();
    expect(h.unexpected.mock.calls.slice(before)).toEqual([[new Error('boom')]]);
  });

  it('keeps a refusal whose text holds line breaks on one reply line', async () => {
    const client = await hello(h.port);
    expect(await client.cmd('MAIL FROM:<multiline@example.test>')).toBe('550 5.6.0 first line 250 2.0.0 forged last');
    expect(await client.cmd('NOOP')).toBe('250 2.0.0 OK');
    client.end();
  });

  it('closes the connection after a line longer than 4096 bytes, with or without its end', async () => {
    for (const line of [`NOOP ${'x'.repeat(4092)}\r\n`, 'x'.repeat(5000)]) {
      const client = await hello(h.port);
      client.send(line);
      expect(await client.reply()).toBe('500 5.5.2 Line too long');
      await within(client.closed, 2000, 'close');
    }
    const client = await hello(h.port);
    expect(await client.cmd(`NOOP ${'x'.repeat(4091)}`)).toBe('250 2.0.0 OK');
    client.end();
  });

  it('shows a client the door at the eleventh bad command', async () => {
    const client = await hello(h.port);
    for (let i = 0; i < 10; i++) expect(await client.cmd('BOGUS')).toBe('500 5.5.2 Command not recognized');
    expect(await client.cmd('BOGUS')).toBe('421 4.7.0 Too many bad commands; closing connection');
    await within(client.closed, 2000, 'close');
  });

  it('says goodbye to QUIT and closes', async () => {
    const client = await hello(h.port);
    expect(await client.cmd('QUIT')).toBe('221 2.0.0 Bye');
    await within(client.closed, 2000, 'close');
  });

  it('closes an idle connection with 421 4.4.2', async () => {
    const idle = await start({ idleTimeoutMs: 200 });
    const client = await hello(idle.port);
    const startedAt = Date.now();
    expect(await client.reply()).toBe('421 4.4.2 Idle too long; closing connection');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150);
    await within(client.closed, 2000, 'close');
    await idle.close();
  });

  it('drops a client that asks for STARTTLS and then never shakes hands', async () => {
    const idle = await start({ idleTimeoutMs: 200 });
    const client = await hello(idle.port);
    expect(await client.cmd('STARTTLS')).toMatch(/^220 /);
    await within(client.closed, 2000, 'close');
    await idle.close();
  });

  it('does not call a client idle while its own transaction is being committed', async () => {
    const slow = await start({ idleTimeoutMs: 200 }, 600);
    const client = await hello(slow.port);
    await client.cmd('MAIL FROM:<a@example.test>');
    await client.cmd('RCPT TO:<b@example.test>');
    expect(await client.cmd('DATA')).toMatch(/^354 /);
    expect(await client.cmd('Subject: slow\r\n\r\nbody\r\n.')).toMatch(/^250 2\.0\.0 Ok: queued as /);
    // Idle from the answer on: a whole idle period again, not what was left of one.
    const answeredAt = Date.now();
    expect(await client.reply()).toBe('421 4.4.2 Idle too long; closing connection');
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(150);
    await slow.close();
  });
});

describe('close()', () => {
  it('lets a transaction in progress get its 250, then says 421 and resolves', async () => {
    const slow = await start({ closeTimeoutMs: 10_000 }, 300);
    const client = await hello(slow.port);
    await client.cmd('MAIL FROM:<a@example.test>');
    await client.cmd('RCPT TO:<b@example.test>');
    await client.cmd('DATA');
    client.send('last one\r\n.\r\n');
    await slow.dataStarted;
    const startedAt = Date.now();
    const closing = slow.close();
    expect(await client.reply()).toBe('250 2.0.0 Ok: queued as 1');
    expect(await client.reply()).toBe('421 4.3.2 Service shutting down');
    await within(closing, 2000, 'close()');
    await within(client.closed, 2000, 'client close');
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(slow.received.map((m) => m.raw.toString())).toEqual(['last one\r\n']);
  });

  it('resolves promptly with an idle client, which gets 421', async () => {
    const quiet = await start({ closeTimeoutMs: 10_000 });
    const client = await hello(quiet.port);
    const startedAt = Date.now();
    await within(quiet.close(), 1000, 'close()');
    expect(Date.now() - startedAt).toBeLessThan(1000);
    expect(await client.reply()).toBe('421 4.3.2 Service shutting down');
    await within(client.closed, 1000, 'client close');
  });

  it('ends a connection that was in its TLS handshake when close() came, with 421 over TLS', async () => {
    const quiet = await start({ closeTimeoutMs: 10_000 });
    const client = await hello(quiet.port);
    expect(await client.cmd('STARTTLS')).toMatch(/^220 /);
    const closing = quiet.close();
    await client.startTls();
    expect(await client.reply()).toBe('421 4.3.2 Service shutting down');
    await within(closing, 1000, 'close()');
  });
});
