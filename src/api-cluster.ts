// Several HTTP API processes on one machine (POSTHORN_API_PROCESSES, node:cluster): one event loop
// tops out near one core, so a machine with more cores runs one API process per core behind one
// port. The primary migrates the database and creates the first key before forking (so the
// processes never race for either), runs the rest of its role itself (the delivery worker, the SMTP
// servers), restarts an API process that dies, and stops them all on SIGTERM. When the primary is
// killed outright its API processes exit too (node:cluster ends a worker whose IPC channel closes),
// so a restart finds the port free.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { startPosthorn, type Posthorn } from './app.ts';

const ACCEPTED = 'posthorn:accepted';
const RESTART_DELAY_MS = 1000;

/**
 * How many API processes this start runs: POSTHORN_API_PROCESSES on PostgreSQL, 1 on SQLite (one
 * writer per file: several processes would queue on its lock and win nothing) or when this process
 * runs no API.
 */
export function apiProcessCount(config: Config, log: Logger): number {
  if (config.apiProcesses <= 1 || (config.role !== 'all' && config.role !== 'api')) return 1;
  if (config.databaseUrl.startsWith('sqlite:')) {
    log.warn(
      { apiProcesses: config.apiProcesses },
      'POSTHORN_API_PROCESSES is ignored on SQLite: one API process runs (SQLite has one writer at a time, ' +
        'so more processes only queue on its lock; use PostgreSQL to run several)',
    );
    return 1;
  }
  if (!config.redisUrl)
    log.warn(
      { apiProcesses: config.apiProcesses },
      'rate limits and brute-force locks are kept per API process without REDIS_URL: each of the ' +
        `${config.apiProcesses} processes counts alone`,
    );
  return config.apiProcesses;
}

export interface ApiCluster {
  /** The primary's own part (worker, SMTP), started without HTTP; null for role api. */
  primary: Posthorn | null;
  firstKey: string | null;
  url: string;
  stop(): Promise<void>;
}

/** In the primary: starts its own part, then `processes` API processes, and resolves once all listen. */
export async function startApiCluster(
  config: Config,
  processes: number,
  log: Logger,
  bootstrap: () => Promise<string | null>,
): Promise<ApiCluster> {
  // Role all: the primary is worker and SMTP server; role api: it only supervises. Either way the
  // schema and the first account exist before any API process opens the store.
  const primary = config.role === 'all' ? await startPosthorn(config, { log, http: false }) : null;
  const firstKey = primary ? primary.firstKey : await bootstrap();

  let stopping = false;
  const fork = (): Worker => {
    const worker = cluster.fork({ POSTHORN_ROLE: 'api' });
    // An accept in an API process wakes the worker here at once instead of at its next poll.
    worker.on('message', (message: unknown) => {
      if (message === ACCEPTED) primary?.notifyAccepted();
    });
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ pid: worker.process.pid, code, signal }, 'an API process died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, RESTART_DELAY_MS).unref();
  });

  let port = config.port; // the port all share (port 0: the one the first listened on)
  const listening = new Promise<void>((resolve, reject) => {
    let ready = 0;
    const onListening = (_worker: Worker, address: { port: number }) => {
      port = address.port;
      if (++ready === processes) {
        cluster.off('listening', onListening);
        cluster.off('exit', onEarlyExit);
        resolve();
      }
    };
    const onEarlyExit = (worker: Worker, code: number) =>
      reject(new Error(`an API process exited (${code}) before it listened`));
    cluster.on('listening', onListening);
    cluster.on('exit', onEarlyExit);
  });
  for (let i = 0; i < processes; i++) fork();
  await listening;

  const host = config.host === '0.0.0.0' ? 'localhost' : config.host;
  return {
    primary,
    firstKey,
    url: `http://${host}:${port}`,
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

/** In an API process: tells the primary about accepts, at most one message per tick. */
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

export const isApiProcess = () => cluster.isWorker;
