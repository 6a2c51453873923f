// A Kysely dialect wrapper that makes every statement fault-aware, whichever code runs it:
//   - getting a connection is retried with bounded backoff while the database is unreachable
//     (nothing has run yet, so it is always safe);
//   - a read outside a transaction whose connection dies is read again on a fresh connection (the
//     dead one is given back first: holding it while waiting for another could exhaust the pool);
//   - a COMMIT whose connection dies after it was sent becomes CommitOutcomeUnknown, so no caller
//     retries it or reports it as done;
//   - a ROLLBACK that fails (the connection is already gone, or SQLite rolled back on its own after
//     SQLITE_FULL) no longer hides the error that caused it; pg's driver has then marked the
//     connection for discard, and the pool drops it;
//   - every outcome is reported to StoreHealth (one log line when an outage starts and one when it ends).
// Writes outside a transaction are never retried here: whether they took effect is unknown.
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { CommitOutcomeUnknown, neverSent, storeFault } from './store-errors.ts';
import { QUICK_RETRY, withRetry, type RetryPolicy } from './retry.ts';
import type { StoreHealth } from './store-health.ts';

export interface ResilienceOptions {
  health: StoreHealth;
  /** Connections can be lost and made again (PostgreSQL); SQLite's one connection never drops. */
  reconnects: boolean;
}

const isConnectionLoss = (error: unknown) => storeFault(error) === 'connection';

/** Up to ~1.5 s for a connection: long enough for a failover or a quick restart, short enough for a 503 soon. */
const CONNECT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 50, maxDelayMs: 800, shouldRetry: isConnectionLoss };
const READ_RETRY: RetryPolicy = { ...QUICK_RETRY, attempts: 2, shouldRetry: isConnectionLoss };

export function resilientDialect(inner: Dialect, opts: ResilienceOptions): Dialect {
  return {
    createDriver: () => new ResilientDriver(inner.createDriver(), opts),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createAdapter: () => inner.createAdapter(),
    createIntrospector: (db) => inner.createIntrospector(db),
  };
}

class ResilientConnection implements DatabaseConnection {
  inTransaction = false;
  /** A statement of the open transaction changed rows: its COMMIT proves the store can write. */
  changedRows = false;
  /** `inner` has been given back to the driver (Kysely still holds this wrapper). */
  released = false;

  constructor(
    public inner: DatabaseConnection,
    private readonly driver: ResilientDriver,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const read = query.query.kind === 'SelectQueryNode';
    try {
      const result = await this.inner.executeQuery<R>(query);
      const changed = !read && Number(result.numAffectedRows ?? 0) > 0;
      if (this.inTransaction) this.changedRows ||= changed;
      this.driver.health.succeeded(changed && !this.inTransaction);
      return result;
    } catch (error) {
      this.driver.health.failed(error);
      if (read && !this.inTransaction && this.driver.reconnects && isConnectionLoss(error))
        return this.driver.readAgain<R>(this, query);
      throw error;
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/** Kysely hands the driver back the connections it acquired from it: ours. */
function own(connection: DatabaseConnection): ResilientConnection {
  if (!(connection instanceof ResilientConnection)) throw new TypeError('not a connection of this driver');
  return connection;
}

class ResilientDriver implements Driver {
  readonly health: StoreHealth;
  readonly reconnects: boolean;

  constructor(
    private readonly inner: Driver,
    opts: ResilienceOptions,
  ) {
    this.health = opts.health;
    this.reconnects = opts.reconnects;
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  /**
   * A new wrapper for every acquisition, never one kept per pooled connection: readAgain gives a
   * dead connection back to the pool while its holder still holds the wrapper, and the pool can hand
   * that connection out again (pg marks it unusable only once the socket's end is read). A wrapper
   * kept per connection was then shared by two holders; the first release gave back only one of
   * the two connections and the other stayed checked out for good, so closing the store waited for
   * ever (CI, 2026-12-04: `waiting for store` for 120 s after the fault test).
   */
  async acquireConnection(): Promise<DatabaseConnection> {
    return new ResilientConnection(await this.acquireInner(), this);
  }

  private acquireInner(): Promise<DatabaseConnection> {
    if (!this.reconnects) return this.inner.acquireConnection();
    return withRetry(async () => {
      try {
        return await this.inner.acquireConnection();
      } catch (error) {
        this.health.failed(error);
        throw error;
      }
    }, CONNECT_RETRY);
  }

  /** The read again on a fresh connection, which replaces the dead one inside `c`. */
  async readAgain<R>(c: ResilientConnection, query: CompiledQuery): Promise<QueryResult<R>> {
    return withRetry(async () => {
      if (!c.released) {
        c.released = true;
        await this.inner.releaseConnection(c.inner); // a dead client is dropped by the pool
      }
      c.inner = await this.acquireInner();
      c.released = false;
      try {
        const result = await c.inner.executeQuery<R>(query);
        this.health.succeeded(false);
        return result;
      } catch (error) {
        this.health.failed(error);
        throw error;
      }
    }, READ_RETRY);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = own(connection);
    try {
      await this.inner.beginTransaction(c.inner, settings);
    } catch (error) {
      this.health.failed(error);
      // SQLite: a transaction left open by a ROLLBACK that failed would block every later BEGIN.
      if (!this.reconnects && error instanceof Error && /within a transaction/.test(error.message)) {
        await c.inner.executeQuery(CompiledQuery.raw('rollback'));
        await this.inner.beginTransaction(c.inner, settings);
      } else throw error;
    }
    c.inTransaction = true;
    c.changedRows = false;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = own(connection);
    try {
      await this.inner.commitTransaction(c.inner);
    } catch (error) {
      this.health.failed(error);
      // A COMMIT refused before it was sent leaves the transaction rolled back: that is known.
      if (this.reconnects && isConnectionLoss(error) && !neverSent(error)) throw new CommitOutcomeUnknown(error);
      throw error;
    }
    c.inTransaction = false;
    this.health.succeeded(c.changedRows);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = own(connection);
    c.inTransaction = false;
    try {
      await this.inner.rollbackTransaction(c.inner);
    } catch {
      // Kysely would throw this error instead of the one that caused the rollback (see above).
    }
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.savepoint!(own(connection).inner, name, compile);
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await this.inner.rollbackToSavepoint!(own(connection).inner, name, compile);
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler['compileQuery'],
  ): Promise<void> {
    await this.inner.releaseSavepoint!(own(connection).inner, name, compile);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = own(connection);
    if (c.released) return;
    c.released = true;
    await this.inner.releaseConnection(c.inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
