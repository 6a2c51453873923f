// What the event loop and the submission commit thread say to each other (submission-commits.ts,
// submission-commit-thread.ts).
import type { Config } from '../config.ts';
import type { ServiceErrorReason } from './errors.ts';
import type { SubmissionCommit } from './submission-commit.ts';

export interface CommitThreadInit {
  config: Config;
  secret: string;
}

export type ToCommitThread = { type: 'commit'; id: number; job: SubmissionCommit } | { type: 'close' };

/** Why a commit failed: a refusal of the use case (e.g. a sending limit) or anything else. */
export interface CommitFailure {
  message: string;
  /** A store error's code (SQLITE_FULL…), so that the event loop's side classifies it as before. */
  code?: string;
  service?: { reason: ServiceErrorReason; detail: string; field?: string };
}

export type FromCommitThread =
  { type: 'committed'; id: number } | { type: 'failed'; id: number; failure: CommitFailure } | { type: 'closed' };
