// What the crash tests (durability, mailings-crash) share around their child servers: the
// settings each child starts with, and the teardown of everything a test started.
import type { ChildServer } from './child-server.ts';
import type { TestDatabase } from './database.ts';
import type { SmtpSink } from './smtp-sink.ts';
import type { DnsTestServer } from './dns-server.ts';

/**
 * The settings of a crash test's child server on `db`, delivering as `transport` says: any sender,
 * a quick worker and a short lease.
 */
export function crashTestEnv(db: TestDatabase, transport: Record<string, string>): Record<string, string> {
  return {
    ...transport,
    DATABASE_URL: db.url,
    POSTHORN_DATA_DIR: db.dataDir,
    POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
    POSTHORN_WORKER_POLL_MS: '20',
    // A killed process (unlike a machine losing power) leaves SQLite's WAL in the OS's cache, so
    // NORMAL loses nothing here and spares the test an fsync per commit.
    POSTHORN_SQLITE_SYNCHRONOUS: 'NORMAL',
    // On PostgreSQL the rows a dead worker leased come back when their lease runs out (a live
    // worker keeps renewing its own); a short lease keeps the test short. SQLite releases every
    // lease at start instead.
    POSTHORN_LEASE_SECONDS: '2',
  };
}

/** Ends what a crash test started: its child servers, the sink (its held replies let go), DNS and the database. */
export async function endCrashTest(world: {
  children: ChildServer[];
  sink?: SmtpSink;
  dns?: DnsTestServer;
  db?: TestDatabase;
}): Promise<void> {
  for (const c of world.children) await c.kill();
  if (world.sink) {
    world.sink.hold = null;
    await world.sink.close();
  }
  await world.dns?.close();
  await world.db?.drop();
}
