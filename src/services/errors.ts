// Errors a use case can raise. They name what went wrong, not how a surface shows it:
// each HTTP surface maps a reason to its own status, code and wording.
import { CommitOutcomeUnknown, storeFault } from '../store/store-errors.ts';

export type ServiceErrorReason =
  | 'required' // a required field is missing
  | 'invalid' // a field has a value we cannot use
  | 'invalid_email'
  | 'unknown_template'
  | 'template_error'
  | 'domain_unverified'
  | 'too_many_recipients'
  | 'not_found'
  | 'conflict'
  | 'limit_exceeded'
  | 'forbidden';

export class ServiceError extends Error {
  constructor(
    public readonly reason: ServiceErrorReason,
    public readonly detail: string,
    public readonly field?: string,
  ) {
    super(detail);
  }
}

export const required = (field: string) => new ServiceError('required', `${field} is required`, field);
export const invalid = (field: string, why: string) => new ServiceError('invalid', `${field} ${why}`, field);
export const notFound = (what: string) => new ServiceError('not_found', `${what} not found`);

/**
 * The store cannot serve this request right now (connection lost, database restarting, disk full,
 * a conflict that outlasted its retries). Surfaces answer 503 with Retry-After in their dialect.
 */
export class StoreUnavailable extends Error {
  constructor(
    public readonly detail: string,
    public readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
  }
}

/** A conflict clears at once, a restart or failover within seconds; a full disk needs an operator. */
const RETRY_AFTER_SECONDS = { conflict: 1, connection: 5, storage: 30 } as const;

/** The StoreUnavailable behind `error` when it is a fault of the store; null for any other error. */
export function storeUnavailable(error: unknown): StoreUnavailable | null {
  if (error instanceof StoreUnavailable) return error;
  if (error instanceof CommitOutcomeUnknown)
    return new StoreUnavailable(
      'the database connection was lost while the request was being committed; it may or may not have been ' +
        'stored: retry it (with the same Idempotency-Key where the endpoint takes one)',
      RETRY_AFTER_SECONDS.connection,
      { cause: error },
    );
  const fault = storeFault(error);
  if (fault === null) return null;
  const detail = {
    conflict: 'the database is busy; retry the request',
    connection: 'the database is unreachable right now; retry the request shortly',
    storage: 'the database cannot store data right now (disk full or read-only); retry the request later',
  }[fault];
  return new StoreUnavailable(detail, RETRY_AFTER_SECONDS[fault], { cause: error });
}
