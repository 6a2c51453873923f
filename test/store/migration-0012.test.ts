// Migration 0012 renumbers sending domains (integer ids, oldest first) and keys templates per
// account, on a database that already holds data: nothing is lost, and the new keys work.
import { describe, expect, it } from 'vitest';
import { Migrator } from 'kysely';
import { migrateToLatest, migrationProvider } from '../../src/store/migrations.ts';
import { bareDatabaseForSuite, dialectName } from '../helpers/database.ts';

describe(`migration 0012 on a database with data (${dialectName})`, () => {
  const suite = bareDatabaseForSuite();
  const { dialect } = suite;

  const domainRow = (id: string, account: string, domain: string, created: number) => ({
    id,
    account_id: account,
    domain,
    note: `note of ${domain}`,
    dkim_selector: 'ph202501abcd',
    dkim_private_key: 'PEM',
    dkim_public_key: 'PUB',
    spf_verified: 1,
    dkim_verified: 1,
    cname_verified: 0,
    dmarc_verified: 0,
    status: 'verified',
    last_checked_at: created + 5,
    created_at: created,
  });

  it('keeps every row, numbers domains oldest first, and keys templates per account', async () => {
    const db = suite.db;
    const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
    const before = await migrator.migrateTo('0008_suppressions');
    expect(before.error).toBeUndefined();
    for (const id of ['acc-a', 'acc-b'])
      await db
        .insertInto('accounts')
        .values({ id, name: id, parent_id: null, status: 'Active', created_at: 1 })
        .execute();
    // Inserted out of order: the numbers follow created_at.
    await db
      .insertInto('sending_domains')
      .values([
        domainRow('ffff', 'acc-a', 'second.example', 2000),
        domainRow('aaaa', 'acc-b', 'first.example', 1000),
        domainRow('bbbb', 'acc-a', 'third.example', 3000),
      ])
      .execute();
    await db
      .insertInto('templates')
      .values({
        id: 'welcome',
        account_id: 'acc-a',
        name: 'W',
        subject: 's',
        html: '<p>h</p>',
        text: null,
        created_at: 1,
        updated_at: 2,
      })
      .execute();
    await db
      .insertInto('channels')
      .values({
        account_id: 'acc-a',
        name: 'C',
        sender_name: null,
        sender_email: null,
        reply_to: null,
        language_iso: 'de',
        color: null,
        created_at: 1,
        updated_at: 1,
      })
      .execute();

    await migrateToLatest(db, dialect);

    const domains = await db.selectFrom('sending_domains').selectAll().orderBy('id').execute();
    expect(domains.map((d) => [Number(d.id), d.domain, d.account_id, d.assignment])).toEqual([
      [1, 'first.example', 'acc-b', 'PRIMARY'],
      [2, 'second.example', 'acc-a', 'PRIMARY'],
      [3, 'third.example', 'acc-a', 'PRIMARY'],
    ]);
    expect(domains[1]).toMatchObject({ note: 'note of second.example', dkim_private_key: 'PEM', status: 'verified' });
    expect(Number(domains[1].last_checked_at)).toBe(2005);
    // The next domain continues the numbering; one name per account still holds.
    const next = await db
      .insertInto('sending_domains')
      .values({ ...domainRow('x', 'acc-b', 'fourth.example', 4000), id: undefined })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(Number(next.id)).toBe(4);
    await expect(
      db
        .insertInto('sending_domains')
        .values({ ...domainRow('x', 'acc-a', 'second.example', 5000), id: undefined })
        .execute(),
    ).rejects.toThrow();

    expect(await db.selectFrom('templates').selectAll().execute()).toEqual([
      expect.objectContaining({ id: 'welcome', account_id: 'acc-a', name: 'W', html: '<p>h</p>' }),
    ]);
    // Another account may now use the same template id; the same account may not.
    await db
      .insertInto('templates')
      .values({
        id: 'welcome',
        account_id: 'acc-b',
        name: 'B',
        subject: null,
        html: 'x',
        text: null,
        created_at: 3,
        updated_at: 3,
      })
      .execute();
    await expect(
      db
        .insertInto('templates')
        .values({
          id: 'welcome',
          account_id: 'acc-a',
          name: 'dup',
          subject: null,
          html: 'x',
          text: null,
          created_at: 3,
          updated_at: 3,
        })
        .execute(),
    ).rejects.toThrow();

    expect(await db.selectFrom('channels').select(['opt_in_mailing_id', 'opt_out_mailing_id']).execute()).toEqual([
      { opt_in_mailing_id: null, opt_out_mailing_id: null },
    ]);
  });
});
