// Which database errors are faults of the store itself (the database is busy, unreachable or cannot
// write) rather than of the request, and whether running the operation again is safe. Every layer
// asks this one module: the retries, the loops that pause while the store is down, the HTTP
// surfaces that answer 503 with Retry-After.

/**
 * - `conflict`: a serialization failure, a deadlock or a busy SQLite file. The transaction was
 *   rolled back; running it again is safe and usually succeeds.
 * - `connection`: the connection was lost (PostgreSQL restarted, the backend was terminated, a
 *   failover) or none could be made. Whatever ran before COMMIT was sent was rolled back.
 * - `storage`: the database cannot write (disk full, read-only file or standby, I/O error). Reads may
 *   work; writes fail until an operator frees space.
 */
export type StoreFault = 'conflict' | 'connection' | 'storage';

/**
 * The connection died after COMMIT was sent and before its answer arrived: the transaction may or
 * may not have committed. Never retried, never answered as a success (a 503 lets the client decide,
 * ideally with its Idempotency-Key).
 */
export class CommitOutcomeUnknown extends Error {
  readonly code = 'COMMIT_OUTCOME_UNKNOWN';
  constructor(cause: unknown) {
    super(`the connection was lost during COMMIT; the transaction may or may not have committed: ${messageOf(cause)}`, {
      cause,
    });
  }
}

const CONFLICT_SQLSTATES = new Set(['40001', '40P01']);
const STORAGE_SQLSTATES = new Set(['53100', '53000', '25006']); // disk full, insufficient resources, read-only standby
const CONNECTION_SQLSTATES = new Set([
  '57P01', // admin_shutdown: terminated by pg_terminate_backend or a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '53300', // too_many_connections
]);
const CONNECTION_ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** What pg and Kysely say about a connection that died, when the error carries no code. */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'connection error and is not queryable',
  'Client was closed and is not queryable',
  'Postgres connection has been discarded',
  'timeout exceeded when trying to connect',
  'Query read timeout',
];

/** The store fault behind `error` (looking through causes and aggregated errors), or null. */
export function storeFault(error: unknown): StoreFault | null {
  return faultOf(error, 0);
}

function faultOf(error: unknown, depth: number): StoreFault | null {
  if (!error || typeof error !== 'object' || depth > 4) return null;
  if (error instanceof CommitOutcomeUnknown) return 'connection';
  const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : '';
  if (code) {
    if (CONFLICT_SQLSTATES.has(code)) return 'conflict';
    if (CONNECTION_SQLSTATES.has(code) || code.startsWith('08') || CONNECTION_ERRNOS.has(code)) return 'connection';
    if (STORAGE_SQLSTATES.has(code)) return 'storage';
    // better-sqlite3 reports extended codes: SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED…
    if (/^SQLITE_(BUSY|LOCKED)/.test(code)) return 'conflict';
    if (/^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/.test(code)) return 'storage';
  }
  const message = messageOf(error);
  if (CONNECTION_MESSAGES.some((m) => message.includes(m))) return 'connection';
  for (const inner of [(error as { cause?: unknown }).cause, ...((error as { errors?: unknown[] }).errors ?? [])]) {
    const fault = faultOf(inner, depth + 1);
    if (fault) return fault;
  }
  return null;
}

/**
 * The statement was refused before it was sent, because its connection had already died (pg's
 * "not queryable", Kysely's "discarded"): it cannot have had any effect, not even a COMMIT.
 */
export function neverSent(error: unknown): boolean {
  return /is not queryable|connection has been discarded/.test(messageOf(error));
}

/**
 * Safe to run again: a conflict or a lost connection, unless COMMIT had already been sent. Callers
 * may only retry what had no effect outside the transaction that failed.
 */
export function isRetryableStoreError(error: unknown): boolean {
  if (error instanceof CommitOutcomeUnknown) return false;
  const fault = storeFault(error);
  return fault === 'conflict' || fault === 'connection';
}

/** The store cannot serve right now (not a mere conflict): loops pause, requests get 503. */
export function isStoreUnavailable(error: unknown): boolean {
  const fault = storeFault(error);
  return fault === 'connection' || fault === 'storage';
}

/** One line for the log: what is wrong, in words, with the database's own code. */
export function describeStoreFault(error: unknown): string {
  const code = codeOf(error);
  const suffix = code ? ` (${code}: ${messageOf(error)})` : ` (${messageOf(error)})`;
  if (error instanceof CommitOutcomeUnknown) return `the connection to the database was lost during a commit${suffix}`;
  if (/^SQLITE_FULL/.test(code) || code === '53100')
    return `the database disk is full; writes fail until space is freed${suffix}`;
  if (/^SQLITE_READONLY/.test(code) || code === '25006') return `the database is read-only; writes fail${suffix}`;
  switch (storeFault(error)) {
    case 'conflict':
      return `the database is busy (lock conflict)${suffix}`;
    case 'connection':
      return `the database is unreachable or the connection was lost${suffix}`;
    case 'storage':
      return `the database cannot write (storage error)${suffix}`;
    default:
      return `database error${suffix}`;
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code !== 'COMMIT_OUTCOME_UNKNOWN') return code;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause && cause !== error ? codeOf(cause) : '';
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string')
    return (error as { message: string }).message;
  return String(error);
}
