// The submission commit thread (SQLite): a second connection to the store that commits accepted SMTP
// submissions, group-committed as on the event loop, so that the SMTP server's event loop neither
// runs their inserts nor waits for their fsync. One thread per process, so one writer of this kind.
import { parentPort, workerData } from 'node:worker_threads';
import type { Context } from '../context.ts';
import { openSqliteConnection } from '../store/db.ts';
import { CommitBatcher } from '../store/commit-batcher.ts';
import { createLogger } from '../log.ts';
import { createDnsLookup } from './dns.ts';
import { ServiceError } from './errors.ts';
import { commitSubmissionHere } from './submission-commit.ts';
import type {
  CommitFailure,
  CommitThreadInit,
  FromCommitThread,
  ToCommitThread,
} from './submission-commit-protocol.ts';

const { config, secret } = workerData as CommitThreadInit;
const port = parentPort!;
const store = openSqliteConnection(config.databaseUrl, {
  sqliteSynchronous: config.sqliteSynchronous,
  sqliteCacheMb: config.sqliteCacheMb,
});
const ctx: Context = {
  db: store.db,
  dialect: 'sqlite',
  // No window: what arrived while the last batch committed is the next batch.
  batcher: new CommitBatcher(store.db, { immediate: true }),
  clock: Date.now,
  config,
  log: createLogger(config.logLevel),
  secret,
  dns: createDnsLookup(config.dnsServers),
};

function answer(message: FromCommitThread): void {
  port.postMessage(message);
}

function failureOf(error: unknown): CommitFailure {
  if (error instanceof ServiceError)
    return { message: error.message, service: { reason: error.reason, detail: error.detail, field: error.field } };
  const code = (error as { code?: unknown })?.code;
  return {
    message: error instanceof Error ? error.message : String(error),
    code: typeof code === 'string' ? code : undefined,
  };
}

port.on('message', (message: ToCommitThread) => {
  if (message.type === 'close') {
    void store.close().then(() => answer({ type: 'closed' }));
    return;
  }
  const { id, job } = message;
  commitSubmissionHere(ctx, job).then(
    () => answer({ type: 'committed', id }),
    (error: unknown) => answer({ type: 'failed', id, failure: failureOf(error) }),
  );
});
