// Migration 0017 keeps captured messages as bytes: a capture written before it (text) still reads
// back, as its UTF-8 bytes, and one written after it keeps bytes that are not UTF-8 exactly.
import { describe, expect, it } from 'vitest';
import { Migrator } from 'kysely';
import { migrateToLatest, migrationProvider } from '../../src/store/migrations.ts';
import { findRaw, insertRaw } from '../../src/store/messages.ts';
import { bareDatabaseForSuite, dialectName } from '../helpers/database.ts';

describe(`migration 0017: captured messages as bytes (${dialectName})`, () => {
  const suite = bareDatabaseForSuite();
  const { dialect } = suite;

  it('reads a capture from before as its UTF-8 bytes, and keeps a later one byte for byte', async () => {
    const db = suite.db;
    const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
    expect((await migrator.migrateTo('0016_dashboard')).error).toBeUndefined();
    const before = 'Subject: Grüße\r\n\r\nfrom the text column\r\n';
    await db
      .insertInto('message_raw')
      .values({ message_id: 'm-old', account_id: 'acc', raw: before, created_at: 1 })
      .execute();
    await migrateToLatest(db, dialect);

    expect((await findRaw(db, 'acc', 'm-old'))!.equals(Buffer.from(before, 'utf8'))).toBe(true);
    const latin1 = Buffer.from('Subject: x\r\n\r\nGr\xfc\xdfe \xa4\r\n', 'latin1');
    await insertRaw(db, 'm-new', 'acc', latin1, 2);
    expect((await findRaw(db, 'acc', 'm-new'))!.equals(latin1)).toBe(true);
    // Written again (a capture retried after a crash): the bytes of the last write.
    const again = Buffer.from([0x41, 0x0d, 0x0a, 0xff, 0xfe]);
    await insertRaw(db, 'm-new', 'acc', again, 3);
    expect((await findRaw(db, 'acc', 'm-new'))!.equals(again)).toBe(true);
    expect(await findRaw(db, 'another-account', 'm-new')).toBeUndefined();
  });
});
