// Runs Posthorn as a child process (`node bin/posthorn.mjs start`), so the load generator and the
// SMTP sink do not share the server's event loop. Optionally under `node --cpu-prof`.
import { spawn, type ChildProcess } from 'node:child_process';
import { childrenOf, treeCpuSeconds } from './process-tree.ts';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface PosthornProcess {
  url: string | null;
  /** The first all-permissions key, printed once at the first start of a fresh database. */
  key: string | null;
  pid: number;
  logFile: string;
  /** SIGTERM: finish in-flight work and exit (writes the CPU profile when profiling). */
  stop(): Promise<void>;
  /** The main thread's .cpuprofile, once the process has exited (profiling only). */
  cpuProfile(): string | null;
  /** CPU seconds (user + system, all threads) the process has used so far (Linux /proc). */
  cpuSeconds(): number;
  /** SIGKILL: no shutdown code runs, so whatever is in the database was committed before. */
  kill(): Promise<void>;
}

export interface StartOptions {
  env: Record<string, string>;
  dataDir: string;
  databaseUrl: string;
  role: 'all' | 'api' | 'worker' | 'smtp';
  /** Directory for a .cpuprofile written at exit (node --cpu-prof). */
  cpuProfileDir?: string;
  label: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPosthornProcess(opts: StartOptions): Promise<PosthornProcess> {
  const port = opts.role === 'worker' ? 0 : await freePort();
  // The heap cap `npm start` sets (package.json), unless the run sets its own through NODE_OPTIONS
  // (a command-line flag would override that).
  const nodeArgs: string[] = /max-old-space-size/.test(opts.env?.NODE_OPTIONS ?? '')
    ? []
    : ['--max-old-space-size=160'];
  if (opts.cpuProfileDir) {
    fs.mkdirSync(opts.cpuProfileDir, { recursive: true });
    // No --cpu-prof-name: tsx's loader thread writes a profile too, and a fixed name would let it
    // overwrite the main thread's. The default name carries pid and thread id instead.
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`);
  }
  const logFile = path.join(opts.dataDir, `${opts.label}.log`);
  const log = fs.createWriteStream(logFile);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, 'bin/posthorn.mjs', 'start'], {
    cwd: REPO,
    env: {
      ...process.env,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      // The SMTP submission server listens on a fixed port by default: off unless a benchmark sets one.
      POSTHORN_SMTP_PORT: '0',
      POSTHORN_INBOUND_PORT: '0',
      ...opts.env,
      POSTHORN_DATA_DIR: opts.dataDir,
      DATABASE_URL: opts.databaseUrl,
      POSTHORN_ROLE: opts.role,
      HOST: '127.0.0.1',
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  // Keep reading both pipes for the whole run: a full pipe would block the server.
  let head = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (head.length < 64 * 1024) head += chunk.toString('utf8');
      if (/^Posthorn is running/m.test(head) && /^API key: .*$/m.test(head)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => log.write(c));
    void exited.then((code) =>
      reject(
        new Error(
          `Posthorn (${opts.label}) exited with ${code} before it was ready; see ${logFile}:\n${head.slice(-2000)}`,
        ),
      ),
    );
    setTimeout(
      () => reject(new Error(`Posthorn (${opts.label}) was not ready after 60 s; see ${logFile}`)),
      60_000,
    ).unref();
  });
  await ready;
  const keyMatch = /^API key: ([A-Za-z0-9]+\.[0-9a-f]+)\s*$/m.exec(head);

  const waitExit = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    await new Promise<void>((r) => log.end(() => r()));
  };
  return {
    url: opts.role === 'worker' ? null : `http://127.0.0.1:${port}`,
    key: keyMatch ? keyMatch[1]! : null,
    pid: child.pid!,
    logFile,
    stop: () => waitExit('SIGTERM'),
    cpuProfile: () => {
      if (!opts.cpuProfileDir) return null;
      const main = fs
        .readdirSync(opts.cpuProfileDir)
        .find((f) => f.includes(`.${child.pid}.0.`) && f.endsWith('.cpuprofile'));
      return main ? path.join(opts.cpuProfileDir, main) : null;
    },
    // With POSTHORN_API_PROCESSES the server is a tree: its front processes count and die with it.
    cpuSeconds: () => treeCpuSeconds(child.pid!),
    kill: async () => {
      for (const pid of childrenOf(child.pid!)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone already */
        }
      }
      await waitExit('SIGKILL');
    },
  };
}

/** 1-minute load average: a busy machine makes every figure here worse. */
export function loadAverage(): number {
  return Math.round(os.loadavg()[0]! * 100) / 100;
}
