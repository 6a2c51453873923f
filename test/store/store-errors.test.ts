// The one classifier of store errors, fed real errors from better-sqlite3 and pg wherever one can be
// made here, and error objects shaped like pg's DatabaseError for the SQLSTATEs a test cannot
// provoke on demand (a deadlock, a full disk on a PostgreSQL server).
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import {
  CommitOutcomeUnknown,
  describeStoreFault,
  isRetryableStoreError,
  isStoreUnavailable,
  neverSent,
  storeFault,
} from '../../src/store/store-errors.ts';
import { storeUnavailable, StoreUnavailable } from '../../src/services/errors.ts';

/** What better-sqlite3 throws for `act`. */
function sqliteError(act: (file: string) => void): unknown {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-errors-'));
  try {
    act(path.join(dir, 'x.db'));
  } catch (error) {
    return error;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  throw new Error('no error was thrown');
}

const pgError = (code: string, message = 'pg error') => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('storeFault', () => {
  it('sees a busy SQLite file as a conflict (worth another try)', () => {
    const error = sqliteError((file) => {
      const a = new SQLite(file);
      a.pragma('journal_mode = WAL');
      a.exec('CREATE TABLE t (x)');
      a.exec('BEGIN IMMEDIATE');
      const b = new SQLite(file, { timeout: 0 });
      try {
        b.exec('INSERT INTO t VALUES (1)');
      } finally {
        b.close();
        a.close();
      }
    });
    expect((error as { code: string }).code).toBe('SQLITE_BUSY');
    expect(storeFault(error)).toBe('conflict');
    expect(isRetryableStoreError(error)).toBe(true);
    expect(isStoreUnavailable(error)).toBe(false);
  });

  it('sees a read-only SQLite file as storage (unavailable, not retried)', () => {
    const error = sqliteError((file) => {
      new SQLite(file).exec('CREATE TABLE t (x)');
      const ro = new SQLite(file, { readonly: true });
      try {
        ro.exec('INSERT INTO t VALUES (1)');
      } finally {
        ro.close();
      }
    });
    expect((error as { code: string }).code).toMatch(/^SQLITE_READONLY/);
    expect(storeFault(error)).toBe('storage');
    expect(isStoreUnavailable(error)).toBe(true);
    expect(isRetryableStoreError(error)).toBe(false);
    expect(describeStoreFault(error)).toMatch(/^the database is read-only; writes fail \(SQLITE_READONLY/);
  });

  it('does not take an error of the request for a fault of the store', () => {
    const constraint = sqliteError((file) => {
      const db = new SQLite(file);
      db.exec('CREATE TABLE t (x PRIMARY KEY); INSERT INTO t VALUES (1)');
      try {
        db.exec('INSERT INTO t VALUES (1)');
      } finally {
        db.close();
      }
    });
    expect((constraint as { code: string }).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    for (const error of [
      constraint,
      pgError('23505', 'duplicate key value violates unique constraint'),
      pgError('42P01', 'relation "x" does not exist'),
      new Error('anything else'),
      new TypeError('x is undefined'),
      null,
      undefined,
      'a string',
    ]) {
      expect(storeFault(error)).toBeNull();
      expect(isRetryableStoreError(error)).toBe(false);
      expect(storeUnavailable(error)).toBeNull();
    }
  });

  it('sees a refused connection (pg) as a lost connection', async () => {
    const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres' });
    const error = await client.connect().then(
      () => null,
      (e: unknown) => e,
    );
    expect(storeFault(error)).toBe('connection');
    expect(isRetryableStoreError(error)).toBe(true);
    expect(describeStoreFault(error)).toMatch(/^the database is unreachable or the connection was lost \(ECONNREFUSED/);
  });

  it.each([
    ['40001', 'conflict'],
    ['40P01', 'conflict'],
    ['57P01', 'connection'],
    ['57P02', 'connection'],
    ['57P03', 'connection'],
    ['08006', 'connection'],
    ['08003', 'connection'],
    ['53300', 'connection'],
    ['53100', 'storage'],
    ['25006', 'storage'],
    ['SQLITE_FULL', 'storage'],
    ['SQLITE_IOERR_WRITE', 'storage'],
    ['SQLITE_BUSY_SNAPSHOT', 'conflict'],
    ['SQLITE_LOCKED', 'conflict'],
    ['ECONNRESET', 'connection'],
    ['EPIPE', 'connection'],
  ])('classifies code %s as %s', (code, fault) => {
    expect(storeFault(pgError(code))).toBe(fault);
  });

  it('recognises what pg says about a dead connection when there is no code', () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated',
      'Client has encountered a connection error and is not queryable',
      'timeout exceeded when trying to connect',
    ])
      expect(storeFault(new Error(message))).toBe('connection');
  });

  it('looks through causes and aggregated errors', () => {
    expect(storeFault(new Error('outer', { cause: pgError('57P01') }))).toBe('connection');
    expect(storeFault(new AggregateError([new Error('x'), pgError('ECONNREFUSED')], 'connect'))).toBe('connection');
  });

  it('knows a statement refused on a dead connection was never sent (a COMMIT among them: known not to commit)', () => {
    expect(neverSent(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(neverSent(new Error('Postgres connection has been discarded'))).toBe(true);
    expect(neverSent(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(neverSent(pgError('57P01', 'terminating connection due to administrator command'))).toBe(false);
  });

  it('never retries a COMMIT whose fate is unknown, but reports it as unavailable', () => {
    const error = new CommitOutcomeUnknown(new Error('Connection terminated unexpectedly'));
    expect(storeFault(error)).toBe('connection');
    expect(isRetryableStoreError(error)).toBe(false);
    expect(isStoreUnavailable(error)).toBe(true);
    expect(describeStoreFault(error)).toMatch(/^the connection to the database was lost during a commit/);
  });
});

describe('storeUnavailable (what the surfaces answer)', () => {
  it('gives each fault a Retry-After and a description', () => {
    const busy = storeUnavailable(pgError('40P01'));
    const down = storeUnavailable(pgError('57P01'));
    const full = storeUnavailable(pgError('SQLITE_FULL'));
    expect(busy).toBeInstanceOf(StoreUnavailable);
    expect([busy!.retryAfterSeconds, down!.retryAfterSeconds, full!.retryAfterSeconds]).toEqual([1, 5, 30]);
    expect(full!.detail).toContain('disk full');
    expect(down!.detail).toContain('unreachable');
  });

  it('tells the client that a request whose commit was lost may have been stored', () => {
    const unknown = storeUnavailable(new CommitOutcomeUnknown(new Error('Connection terminated unexpectedly')));
    expect(unknown!.detail).toContain('may or may not have been stored');
    expect(unknown!.detail).toContain('Idempotency-Key');
  });
});
