// The subscriber store's bulk upsert, the path bulk requests and CSV imports write through: on
// PostgreSQL one unnest statement per batch (arrays per column), on SQLite multi-row VALUES. Every
// value must come back exactly as written — texts with the characters an array literal escapes,
// NULLs, integers, millisecond times — and a second upsert must update in place (same ids, the
// creation time kept), across a batch larger than one SQLite statement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dialectName, type TestDatabase } from '../helpers/database.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { insertAccount } from '../../src/store/accounts.ts';
import { upsertSubscribers, type NewSubscriberRow } from '../../src/store/subscribers.ts';

/** PostgreSQL answers bigint columns as strings: compare numbers. */
const num = (v: unknown) => Number(v);

const ACCOUNT = 'acct-upsert';
const OTHER = 'acct-other';
const AWKWARD = ['{', '}', '"quoted"', 'back\\slash', 'comma, here', 'NULL', '', ' spaced ', 'Ünïcødé 😀', "it's"];

function row(i: number, account = ACCOUNT, now = 1_700_000_000_000): NewSubscriberRow {
  const odd = i % 2 === 1;
  return {
    account_id: account,
    email: `person${i}@example.com`,
    status: 1,
    status_addition: odd ? null : 3,
    gender_id: (i % 3) + 1,
    language_iso: odd ? 'de' : 'en',
    title: odd ? null : 'Dr.',
    firstname: AWKWARD[i % AWKWARD.length],
    lastname: `Last ${i}`,
    company: null,
    street: `Street ${i}`,
    postcode: String(10000 + i),
    city: odd ? 'Berlin' : null,
    phone_number: null,
    birthday: odd ? '1990-02-28' : null,
    opt_in_comment: odd ? 'line one\nline two' : null,
    opt_in_sent_at: null,
    opt_in_confirmed_at: odd ? now - i : null,
    opt_in_ip: odd ? '2001:db8::1' : null,
    reference: `ref-${i}`,
    last_opened_at: null,
    last_clicked_at: null,
    deleted_at: null,
    created_at: now,
    updated_at: now,
  };
}

describe(`subscriber bulk upsert (${dialectName})`, () => {
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await createTestDatabase();
    store = await openStore(db.url);
    for (const id of [ACCOUNT, OTHER])
      await insertAccount(store.db, { id, name: id, parent_id: null, status: 'Active', created_at: 1 });
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  const read = async (account: string) => {
    const rows = await store.db.selectFrom('subscribers').selectAll().where('account_id', '=', account).execute();
    return new Map(rows.map((r) => [r.email!, r]));
  };

  it('writes 1,200 new rows with every value intact and returns each id', async () => {
    const rows = Array.from({ length: 1200 }, (_, i) => row(i));
    const ids = await store.db.transaction().execute((trx) => upsertSubscribers(trx, rows));
    expect(ids.size).toBe(1200);
    const stored = await read(ACCOUNT);
    expect(stored.size).toBe(1200);
    for (const r of rows) {
      const s = stored.get(r.email!)!;
      expect(num(s.id)).toBe(ids.get(r.email!));
      for (const [column, value] of Object.entries(r)) {
        const got = (s as Record<string, unknown>)[column];
        expect(got === null ? null : typeof value === 'number' ? num(got) : got, `${r.email} ${column}`).toEqual(value);
      }
    }
  });

  it('updates existing rows in place: same ids, new values, creation time kept; other accounts untouched', async () => {
    const idsBefore = new Map([...(await read(ACCOUNT))].map(([email, r]) => [email, num(r.id)]));
    await upsertSubscribers(store.db, [row(0, OTHER)]);
    const later = 1_800_000_000_000;
    const changed: NewSubscriberRow[] = Array.from({ length: 1200 }, (_, i) => ({
      ...row(i, ACCOUNT, later),
      firstname: `Changed ${i}`,
      city: null,
      created_at: later, // the caller's merged row; the upsert never rewrites created_at
    }));
    // A batch mixing existing rows and new ones.
    changed.push(row(5000, ACCOUNT, later));
    const ids = await upsertSubscribers(store.db, changed);
    const stored = await read(ACCOUNT);
    expect(stored.size).toBe(1201);
    for (let i = 0; i < 1200; i++) {
      const s = stored.get(`person${i}@example.com`)!;
      expect(num(s.id)).toBe(idsBefore.get(`person${i}@example.com`));
      expect(ids.get(`person${i}@example.com`)).toBe(num(s.id));
      expect(s.firstname).toBe(`Changed ${i}`);
      expect(s.city).toBeNull();
      expect(num(s.updated_at)).toBe(later);
      expect(num(s.created_at)).toBe(1_700_000_000_000);
    }
    expect(num(stored.get('person5000@example.com')!.created_at)).toBe(later);
    const other = await read(OTHER);
    expect(other.get('person0@example.com')!.firstname).toBe(AWKWARD[0]);
  });

  it('does nothing for an empty batch', async () => {
    expect((await upsertSubscribers(store.db, [])).size).toBe(0);
  });
});
