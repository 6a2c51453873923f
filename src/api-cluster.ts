// Several front processes on one machine (POSTHORN_API_PROCESSES, node:cluster): one event loop
// tops out near one core, so a machine with more cores runs one front process per core behind the
// role's ports: the HTTP API (roles all, api) and the SMTP submission server (roles all, smtp). The
// primary migrates the database, creates the first key and the SMTP certificate before forking (so
// the processes never race for any of them), runs the back of its role itself (the delivery worker,
// the inbound receiver), restarts a front process that dies, and stops them all on SIGTERM. When the
// primary is killed outright its front processes exit too (node:cluster ends a worker whose IPC
// channel closes), so a restart finds the ports free.
//
// PostgreSQL only. On SQLite one process runs: several would all write to the one file, and SQLite
// drops a process's page cache whenever another process has written. Measured with SMTP submission
// (BENCHMARKS.md): two processes writing cost twice the CPU per message; two front processes that
// handed every accept to the primary over IPC (so that one process wrote) were slower than one
// process (628 vs 750 msg/s on 2 cores): the writer does most of the work either way.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { startPosthorn, type Posthorn } from './app.ts';
import { loadTlsCredentials } from './smtp/tls.ts';

const ACCEPTED = 'posthorn:accepted';
const RESTART_DELAY_MS = 1000;

/**
 * How many front processes this start runs: POSTHORN_API_PROCESSES on PostgreSQL, 1 on SQLite (see
 * above) or when the role has no front.
 */
export function apiProcessCount(config: Config, log: Logger): number {
  if (config.apiProcesses <= 1 || config.role === 'worker') return 1;
  if (isSqlite(config)) {
    log.warn(
      { apiProcesses: config.apiProcesses },
      'POSTHORN_API_PROCESSES is ignored on SQLite: one process runs (SQLite has one writer at a time, and a ' +
        'process loses its page cache whenever another one writes, so more processes cost more than they win; ' +
        'use PostgreSQL to run several)',
    );
    return 1;
  }
  if (!config.redisUrl)
    log.warn(
      { apiProcesses: config.apiProcesses },
      'rate limits and brute-force locks are kept per process without REDIS_URL: each of the ' +
        `${config.apiProcesses} processes counts alone`,
    );
  return config.apiProcesses;
}

const isSqlite = (config: Config) => config.databaseUrl.startsWith('sqlite:');

export interface ApiCluster {
  /** The primary's own part (worker, inbound receiver), started without fronts; null for role api. */
  primary: Posthorn | null;
  firstKey: string | null;
  /** Where the front processes listen: the HTTP API and the SMTP submission server (null: not in the role). */
  url: string | null;
  smtpUrl: string | null;
  stop(): Promise<void>;
}

/** In the primary: starts its own part, then `processes` API processes, and resolves once all listen. */
export async function startApiCluster(
  config: Config,
  processes: number,
  log: Logger,
  bootstrap: () => Promise<string | null>,
): Promise<ApiCluster> {
  // Role all: the primary is the delivery worker and the inbound receiver; smtp: the inbound
  // receiver; api: it only supervises. Either way the schema and the first account exist before any
  // front process opens the store.
  const primary = config.role === 'api' ? null : await startPosthorn(config, { log, part: 'back' });
  const firstKey = primary ? primary.firstKey : await bootstrap();
  // The submission servers of all front processes present one certificate: made here once.
  if (config.smtp.port !== null && config.role !== 'api') {
    loadTlsCredentials({
      certFile: config.smtp.tlsCertFile,
      keyFile: config.smtp.tlsKeyFile,
      dataDir: config.dataDir,
      hostname: new URL(config.publicUrl).hostname,
    });
  }

  let stopping = false;
  let readyCount = 0;
  let onReady: (message: FrontReady) => void = () => undefined;
  const fork = (): Worker => {
    const worker = cluster.fork({ POSTHORN_ROLE: config.role });
    // An accept in a front process wakes the worker here at once instead of at its next poll.
    worker.on('message', (message: unknown) => {
      if (message === ACCEPTED) primary?.notifyAccepted();
      else if (isFrontReady(message)) onReady(message);
    });
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ pid: worker.process.pid, code, signal }, 'a front process died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, RESTART_DELAY_MS).unref();
  });

  // Each front process says when all its servers listen (a process of role all has two ports, and
  // node:cluster's 'listening' fires for each), and where: with port 0 they share what the first got.
  let addresses: FrontReady | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = (message) => {
      addresses ??= message;
      if (++readyCount === processes) {
        cluster.off('exit', onEarlyExit);
        resolve();
      }
    };
    const onEarlyExit = (_worker: Worker, code: number) =>
      reject(new Error(`a front process exited (${code}) before it listened`));
    cluster.on('exit', onEarlyExit);
  });
  for (let i = 0; i < processes; i++) fork();
  await ready;

  const front = addresses as FrontReady | null;
  return {
    primary,
    firstKey,
    url: front?.url ?? null,
    smtpUrl: front?.smtpUrl ?? null,
    async stop() {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.isDead()) {
                resolve();
                return;
              }
              w.once('exit', () => resolve());
              w.process.kill('SIGTERM'); // each finishes its requests in flight (its own SIGTERM handler)
            }),
        ),
      );
      await primary?.close();
    },
  };
}

/** What a front process tells the primary once its servers listen. */
interface FrontReady {
  type: 'posthorn:front-ready';
  url: string | null;
  smtpUrl: string | null;
}

function isFrontReady(message: unknown): message is FrontReady {
  return (message as FrontReady | null)?.type === 'posthorn:front-ready';
}

/** In a front process, once its servers listen. */
export function announceReady(url: string | null, smtpUrl: string | null): void {
  const message: FrontReady = { type: 'posthorn:front-ready', url, smtpUrl };
  process.send?.(message);
}

/** In a front process: tells the primary about accepts, at most one message per tick. */
export function notifyPrimary(): () => void {
  let pending = false;
  return () => {
    if (pending || !process.send) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      process.send?.(ACCEPTED);
    });
  };
}

export const isFrontProcess = () => cluster.isWorker;
