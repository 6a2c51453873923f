// A small Redis client (RESP2 over node:net or node:tls): enough for the limit counters, which only
// run a few Lua scripts. Commands are pipelined on one connection; replies come back in order.
// A broken connection fails the commands in flight and is opened again by the next command.
import net from 'node:net';
import tls from 'node:tls';

export type RespValue = string | number | null | RespValue[] | Buffer;

export class RedisError extends Error {}

interface Pending {
  resolve(value: RespValue): void;
  reject(error: Error): void;
}

const CRLF = Buffer.from('\r\n');

export function encodeCommand(args: Array<string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const b = Buffer.from(String(arg));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

type Parsed = { value: RespValue | RedisError; next: number } | null;

/** Parses one reply starting at `at`; null when the buffer does not hold all of it yet. */
export function parseReply(buf: Buffer, at: number): Parsed {
  if (at >= buf.length) return null;
  const eol = buf.indexOf(CRLF, at);
  if (eol < 0) return null;
  const type = buf[at];
  const line = buf.toString('utf8', at + 1, eol);
  switch (type) {
    case 0x2b: // + simple string
      return { value: line, next: eol + 2 };
    case 0x2d: // - error
      return { value: new RedisError(line), next: eol + 2 };
    case 0x3a: // : integer
      return { value: Number(line), next: eol + 2 };
    case 0x24: {
      // $ bulk string
      const len = Number(line);
      if (len < 0) return { value: null, next: eol + 2 };
      const end = eol + 2 + len;
      if (buf.length < end + 2) return null;
      return { value: buf.toString('utf8', eol + 2, end), next: end + 2 };
    }
    case 0x2a: {
      // * array
      const len = Number(line);
      if (len < 0) return { value: null, next: eol + 2 };
      const items: RespValue[] = [];
      let next = eol + 2;
      for (let i = 0; i < len; i++) {
        const item = parseReply(buf, next);
        if (!item) return null;
        // An error inside an array (a failed command in a script's result) fails the whole reply.
        if (item.value instanceof RedisError) return { value: item.value, next: item.next };
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new RedisError(`unexpected reply type ${JSON.stringify(String.fromCharCode(type))}`);
  }
}

export interface RespClientOptions {
  /** How long a command may wait for its reply before the connection is dropped. */
  timeoutMs?: number;
}

export class RespClient {
  private socket: net.Socket | null = null;
  private pending: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private readonly url: URL;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(url: string, opts: RespClientOptions = {}) {
    this.url = new URL(url);
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  command(args: Array<string | number>): Promise<RespValue> {
    if (this.closed) return Promise.reject(new RedisError('the Redis client is closed'));
    const socket = this.socket ?? this.connect();
    return new Promise<RespValue>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      socket.write(encodeCommand(args));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const socket = this.socket;
    this.socket = null;
    this.fail(new RedisError('the Redis client is closed'));
    if (socket) await new Promise<void>((resolve) => socket.end(resolve));
  }

  private connect(): net.Socket {
    const port = Number(this.url.port || 6379);
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const socket =
      this.url.protocol === 'rediss:' ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
    socket.setNoDelay(true);
    // Limit counters must never keep a process alive that is otherwise done.
    socket.unref();
    socket.setTimeout(this.timeoutMs);
    socket.on('timeout', () => {
      if (this.pending.length > 0) socket.destroy(new RedisError(`no reply from Redis within ${this.timeoutMs} ms`));
    });
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (err: Error) => this.dropped(socket, err));
    socket.on('close', () => this.dropped(socket, new RedisError('the connection to Redis closed')));
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    // Sent first on the new connection, so they run before any command queued behind them.
    const password = this.url.password ? decodeURIComponent(this.url.password) : null;
    if (password) {
      const user = this.url.username ? decodeURIComponent(this.url.username) : null;
      this.internal(socket, user ? ['AUTH', user, password] : ['AUTH', password]);
    }
    const db = this.url.pathname.replace(/^\//, '');
    if (db && db !== '0') this.internal(socket, ['SELECT', db]);
    return socket;
  }

  /** A setup command whose failure (a wrong password) fails the connection and what waits on it. */
  private internal(socket: net.Socket, args: string[]) {
    this.pending.push({
      resolve: () => {},
      reject: (err) => {
        // Fail everything queued behind it now, before their replies (refusals too) are read.
        this.dropped(socket, err);
        socket.destroy();
      },
    });
    socket.write(encodeCommand(args));
  }

  private onData(socket: net.Socket, chunk: Buffer) {
    if (this.socket !== socket) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let at = 0;
    for (;;) {
      let parsed: Parsed;
      try {
        parsed = parseReply(this.buffer, at);
      } catch (err) {
        this.dropped(socket, err as Error);
        socket.destroy();
        return;
      }
      if (!parsed) break;
      at = parsed.next;
      const waiter = this.pending.shift();
      if (!waiter) continue;
      if (parsed.value instanceof RedisError) waiter.reject(parsed.value);
      else waiter.resolve(parsed.value);
      if (this.socket !== socket) return;
    }
    this.buffer = at === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(at);
  }

  private dropped(socket: net.Socket, err: Error) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.fail(err);
  }

  private fail(err: Error) {
    const waiting = this.pending;
    this.pending = [];
    for (const w of waiting) w.reject(err);
  }
}
