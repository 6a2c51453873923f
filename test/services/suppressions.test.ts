// The suppression list's use cases called directly (not through HTTP), on the real store: input
// rules as ServiceErrors, idempotent adds, the unsubscribe entry widening, look-up, listing by type,
// removal, and every call scoped to its account.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { ServiceError } from '../../src/services/errors.ts';
import {
  createSuppression,
  deleteSuppression,
  listSuppressions,
  lookupSuppression,
} from '../../src/services/suppressions.ts';

describe(`suppressions service (${dialectName})`, () => {
  let server: TestServer;
  let other: string;
  beforeAll(async () => {
    server = await startTestServer();
    other = (await server.newAccount()).accountId;
  });
  afterAll(async () => server?.close());
  const ctx = () => server.app.ctx;

  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (err: unknown) => (err instanceof ServiceError ? { reason: err.reason, field: err.field } : err),
    );

  it('refuses a missing or invalid email, an unknown type and a reason with control characters', async () => {
    const id = server.accountId;
    expect(await refusal(createSuppression(ctx(), id, {}))).toEqual({ reason: 'required', field: 'email' });
    expect(await refusal(createSuppression(ctx(), id, { email: 'nope' }))).toEqual({
      reason: 'invalid_email',
      field: 'email',
    });
    expect(await refusal(createSuppression(ctx(), id, { email: 'a@example.com', type: 'bogus' }))).toEqual({
      reason: 'invalid',
      field: 'type',
    });
    expect(await refusal(createSuppression(ctx(), id, { email: 'a@example.com', reason: 'a\nb' }))).toEqual({
      reason: 'invalid',
      field: 'reason',
    });
    expect((await listSuppressions(ctx(), id, { email: 'a@example.com' }, 1, 10)).total).toBe(0);
  });

  it('adds an address once (lower-cased, manual by default) and answers the same entry again', async () => {
    const id = server.accountId;
    const first = await createSuppression(ctx(), id, { email: ' Once@Example.COM ' });
    expect(first).toMatchObject({ created: true, entry: { email: 'once@example.com', type: 'manual' } });
    expect(first.entry.blocksTransactional).toBe(true);
    const again = await createSuppression(ctx(), id, { email: 'once@example.com', type: 'bounce' });
    expect(again).toEqual({ created: false, entry: first.entry });
  });

  it('widens an unsubscribe entry, which holds back marketing mail only, to one that holds back all mail', async () => {
    const id = server.accountId;
    const unsub = await createSuppression(ctx(), id, { email: 'wide@example.com', type: 'unsubscribe' });
    expect(unsub.entry.blocksTransactional).toBe(false);
    const widened = await createSuppression(ctx(), id, { email: 'wide@example.com', type: 'spam_complaint' });
    expect(widened.created).toBe(false);
    expect(widened.entry).toMatchObject({ id: unsub.entry.id, type: 'spam_complaint', blocksTransactional: true });
  });

  it('looks up, lists by type and removes, within the account only', async () => {
    const id = server.accountId;
    const { entry } = await createSuppression(ctx(), id, { email: 'mine@example.com', type: 'bounce' });
    expect((await lookupSuppression(ctx(), id, 'MINE@example.com')).entry?.id).toBe(entry.id);
    expect((await lookupSuppression(ctx(), other, 'mine@example.com')).entry).toBeNull();
    const bounces = await listSuppressions(ctx(), id, { type: 'bounce' }, 1, 100);
    expect(bounces.rows.map((r) => r.email)).toContain('mine@example.com');
    expect(bounces.rows.every((r) => r.type === 'bounce')).toBe(true);
    expect((await listSuppressions(ctx(), other, {}, 1, 100)).total).toBe(0);

    expect(await refusal(deleteSuppression(ctx(), other, entry.id))).toEqual({ reason: 'not_found', field: undefined });
    await deleteSuppression(ctx(), id, entry.id);
    expect((await lookupSuppression(ctx(), id, 'mine@example.com')).entry).toBeNull();
    expect(await refusal(deleteSuppression(ctx(), id, entry.id))).toEqual({ reason: 'not_found', field: undefined });
  });
});
