// What every use case receives: the store, the clock, the settings and a logger. It lives at the top
// of src/ so that every layer (services, delivery, events, the surfaces) may name it; the surfaces
// still reach the store only through services (test/architecture/imports.test.ts).
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Database } from './store/schema.ts';
import type { SqlDialect } from './store/migrations.ts';
import type { CommitBatcher } from './store/commit-batcher.ts';
import type { DnsLookup } from './services/dns.ts';
import type { PersonalisationChecker } from './domain/personalisation-check.ts';
import type { SubmissionCommitter } from './services/submission-commit.ts';

export interface Context {
  db: Kysely<Database>;
  dialect: SqlDialect;
  batcher: CommitBatcher;
  clock: () => number;
  config: Config;
  log: Logger;
  secret: string;
  dns: DnsLookup;
  /** Checks templates against recipients' data off the event loop; absent (CLI), checks run inline. */
  templateChecks?: PersonalisationChecker;
  /** Commits SMTP submissions off the event loop (SQLite, role smtp); absent, they commit in this thread. */
  submissionCommits?: SubmissionCommitter;
}
