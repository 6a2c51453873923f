// Big mailings for the delivery tests: ready subscribers written straight into the store (the
// bulk route is not what those tests are about), and a mailing to all of them, sent.
import { expect } from 'vitest';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.ts';
import type { ApiClient } from './server.ts';

/** `n` active subscribers r0@example.org … with first names F0 …; their ids in order. */
export async function seedReadySubscribers(db: Kysely<Database>, accountId: string, n: number): Promise<number[]> {
  const now = Date.now();
  const ids: number[] = [];
  for (let i = 0; i < n; i += 500) {
    const rows = Array.from({ length: Math.min(500, n - i) }, (_, k) => ({
      account_id: accountId,
      email: `r${i + k}@example.org`,
      status: 1,
      firstname: `F${i + k}`,
      created_at: now,
      updated_at: now,
    }));
    const inserted = await db.insertInto('subscribers').values(rows).returning('id').execute();
    ids.push(...inserted.map((r) => r.id));
  }
  return ids;
}

/** Creates a mailing to every subscriber of the account and sends it; its id. */
export async function sendMailingToAll(api: ApiClient, name: string): Promise<number> {
  const created = await api.post('/api/v1/mailings', {
    name,
    senderEmail: 'news@example.com',
    subject: 'Hi {{ firstname }}',
    text: 'Hello {{ firstname }} {{ unsubscribeUrl }}',
  });
  expect(created.status, created.text).toBe(201);
  const mailingId = created.body.data.id as number;
  expect((await api.post(`/api/v1/mailings/${mailingId}/send`)).status).toBe(200);
  return mailingId;
}
