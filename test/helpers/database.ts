// Each test server gets its own database: a fresh SQLite file, or, when POSTHORN_TEST_DATABASE_URL
// is set, a freshly created PostgreSQL database that is dropped afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';

export const pgBaseUrl = process.env.POSTHORN_TEST_DATABASE_URL || null;
export const dialectName = pgBaseUrl ? 'postgres' : 'sqlite';

export interface TestDatabase {
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-test-'));
  if (!pgBaseUrl) {
    return {
      url: `sqlite:${path.join(dataDir, 'posthorn.db')}`,
      dataDir,
      drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `posthorn_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgBaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(pgBaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dataDir,
    async drop() {
      const c = new pg.Client({ connectionString: pgBaseUrl! });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A bare Kysely on a test database, with no migration run (the migration tests step through them
 * with a Migrator). Untyped: the schema at a past migration is not today's.
 */
export function bareKysely(database: TestDatabase): Kysely<any> {
  return new Kysely<any>({
    dialect: database.url.startsWith('sqlite:')
      ? new SqliteDialect({ database: new SQLite(database.url.slice('sqlite:'.length)) })
      : new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }),
  });
}

/**
 * For a migration test's describe block: a fresh database and its bare Kysely for the whole block
 * (made before its tests, closed and dropped after them), read through `suite.db`.
 */
export function bareDatabaseForSuite(): { readonly db: Kysely<any>; dialect: 'sqlite' | 'postgres' } {
  let database: TestDatabase | undefined;
  let db: Kysely<any> | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = bareKysely(database);
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });
  return {
    get db() {
      if (!db) throw new Error('the bare database is made in beforeAll');
      return db;
    },
    dialect: dialectName === 'postgres' ? 'postgres' : 'sqlite',
  };
}
