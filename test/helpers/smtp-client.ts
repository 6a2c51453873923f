// A bare SMTP client for tests that look at the protocol itself (replies to AUTH before STARTTLS,
// locks, SMTP-IP sessions): one line out, one (possibly multi-line) reply in, nothing hidden.
import net from 'node:net';

export interface SmtpReply {
  code: number;
  text: string;
}

export interface RawSmtpSession {
  /** The greeting. */
  greeting: SmtpReply;
  /** Sends one line (CRLF added) and resolves with the reply. */
  command(line: string): Promise<SmtpReply>;
  /** Sends bytes as they are (a message body) without waiting for a reply; resolves once the socket takes more. */
  write(data: string | Buffer): Promise<void>;
  /** The next reply, for a command sent with write(). */
  reply(): Promise<SmtpReply>;
  close(): void;
}

export async function rawSmtp(port: number, host = '127.0.0.1'): Promise<RawSmtpSession> {
  const socket = net.connect(port, host);
  let buffer = '';
  const waiting: Array<(r: SmtpReply) => void> = [];
  const ready: SmtpReply[] = [];
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    // A reply ends with a line whose code is followed by a space.
    for (let m = /^(\d{3}) .*\r\n/m.exec(buffer); m; m = /^(\d{3}) .*\r\n/m.exec(buffer)) {
      const end = m.index + m[0].length;
      const reply = { code: Number(m[1]), text: buffer.slice(0, end).trimEnd() };
      buffer = buffer.slice(end);
      const next = waiting.shift();
      if (next) next(reply);
      else ready.push(reply);
    }
  });
  socket.on('error', () => {});
  const reply = () =>
    new Promise<SmtpReply>((resolve) => {
      const r = ready.shift();
      if (r) resolve(r);
      else waiting.push(resolve);
    });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const greeting = await reply();
  return {
    greeting,
    command(line) {
      socket.write(line + '\r\n');
      return reply();
    },
    write: (data) =>
      new Promise<void>((resolve) => (socket.write(data) ? resolve() : socket.once('drain', () => resolve()))),
    reply,
    close: () => socket.destroy(),
  };
}

/** AUTH PLAIN's argument for an empty authorization identity. */
export const plainAuth = (user: string, password: string) => Buffer.from(`\0${user}\0${password}`).toString('base64');
