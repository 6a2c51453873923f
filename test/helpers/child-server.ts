// Runs Posthorn as a separate process (`node bin/posthorn.mjs start`), the way an operator does, so
// a test can kill it outright (SIGKILL: no shutdown code runs) and start it again on the same
// database.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { ApiClient } from './server.ts';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/posthorn.mjs');

export interface ChildServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** The first start's all-permissions key; null on later starts (it is shown once). */
  firstKey: string | null;
  /** Everything the process wrote, for failure messages. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | string>;
  /** SIGKILL: the process dies at once, mid-whatever; resolves when it is gone. */
  kill(): Promise<void>;
  /** SIGTERM and wait (the orderly shutdown). */
  stop(): Promise<void>;
  api(key: string): ApiClient;
}

/** A port that was free a moment ago (bound to port 0, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `posthorn start` with exactly the given settings (plus PATH and HOME) and resolves once it
 * listens, which it shows by printing its `API key:` line.
 */
export async function startChildServer(
  env: Record<string, string>,
  opts: { port?: number; timeoutMs?: number } = {},
): Promise<ChildServer> {
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [bin, 'start'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // The SMTP servers listen on fixed ports by default: off unless the test sets one.
      POSTHORN_SMTP_PORT: '0',
      POSTHORN_INBOUND_PORT: '0',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );

  const firstKey = await new Promise<string | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`posthorn did not start within ${opts.timeoutMs ?? 20_000} ms:\n${out}`));
    }, opts.timeoutMs ?? 20_000);
    const onData = () => {
      const line = /^API key: (.*)$/m.exec(out);
      if (!line) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      const key = /^[A-Za-z0-9]{8}\.[0-9a-f]{32}$/.exec(line[1]!.trim());
      resolve(key ? key[0] : null);
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`posthorn exited (${code}) before it was ready:\n${out}`));
    });
  });

  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    process: child,
    firstKey,
    output: () => out,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    api: (key: string) => new ApiClient(url, key),
  };
}

// The pids of a process's children, read from /proc: the benchmarks' helper.
export { childrenOf } from '../../bench/lib/process-tree.ts';

/**
 * One request on a connection of its own (no keep-alive), so a cluster of API processes hands each
 * to the next process. `headers` are added to the request's own.
 */
export function requestOnce(
  url: string,
  path: string,
  key: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url + path,
      {
        method: payload ? 'POST' : 'GET',
        agent: false,
        headers: {
          connection: 'close',
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
