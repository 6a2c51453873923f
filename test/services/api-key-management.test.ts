// API key management called directly (not through HTTP), on the real store: a new key works and is
// shown once, its input rules, changes, the account scope, and revocation (never of the caller).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { ServiceError } from '../../src/services/errors.ts';
import { authenticate, type ApiKeyInfo } from '../../src/services/api-keys.ts';
import { createKey, getKey, listKeys, revokeKey, updateKey } from '../../src/services/api-key-management.ts';

describe(`API key management service (${dialectName})`, () => {
  let server: TestServer;
  let caller: ApiKeyInfo;
  let stranger: ApiKeyInfo;
  const ctx = () => server.app.ctx;
  const callerOf = async (key: string) => {
    const auth = await authenticate(ctx(), key, '127.0.0.1');
    if (!auth.ok) throw new Error(`the key does not authenticate: ${auth.reason}`);
    return auth.key;
  };
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (err: unknown) => (err instanceof ServiceError ? err.reason : err),
    );

  beforeAll(async () => {
    server = await startTestServer();
    caller = await callerOf(server.key);
    stranger = await callerOf((await server.newAccount()).key);
  });
  afterAll(async () => server?.close());

  it('creates a key of the caller account with its permissions; the key authenticates', async () => {
    const { row, key } = await createKey(ctx(), caller, { name: 'made directly' });
    expect(row.account_id).toBe(caller.accountId);
    const made = await callerOf(key);
    expect(made).toMatchObject({ accountId: caller.accountId, name: 'made directly' });
    expect([...made.permissions].sort()).toEqual([...caller.permissions].sort());
  });

  it('refuses an empty name and an invalid allow-list', async () => {
    expect(await refusal(createKey(ctx(), caller, { name: '' }))).toBe('required');
    expect(await refusal(createKey(ctx(), caller, { name: 'x', allowedIp: 'not-an-ip' }))).toBe('invalid');
  });

  it('changes only the fields given, and an allow-list keeps other addresses out', async () => {
    const { row, key } = await createKey(ctx(), caller, { name: 'to change' });
    const changed = await updateKey(ctx(), caller, Number(row.int_id), { allowedIp: '192.0.2.1' });
    expect(changed.name).toBe('to change');
    expect(await authenticate(ctx(), key, '127.0.0.1')).toEqual({ ok: false, reason: 'ip_not_allowed' });
    expect((await authenticate(ctx(), key, '192.0.2.1')).ok).toBe(true);
  });

  it('keeps every account to its own keys', async () => {
    const { row } = await createKey(ctx(), caller, { name: 'private' });
    expect(await refusal(getKey(ctx(), stranger, Number(row.int_id)))).toBe('not_found');
    expect(await refusal(revokeKey(ctx(), stranger, Number(row.int_id)))).toBe('not_found');
    const theirs = await listKeys(ctx(), stranger, { page: 1, size: 100 });
    expect(theirs.rows.every((r) => r.account_id === stranger.accountId)).toBe(true);
    const ours = await listKeys(ctx(), caller, { page: 1, size: 100, search: 'private' });
    expect(ours.rows.map((r) => r.id)).toContain(row.id);
  });

  it('revokes a key, which stops working at once, but never the calling key itself', async () => {
    const { row, key } = await createKey(ctx(), caller, { name: 'to revoke' });
    await revokeKey(ctx(), caller, Number(row.int_id));
    expect(await authenticate(ctx(), key, '127.0.0.1')).toEqual({ ok: false, reason: 'invalid' });
    expect(await refusal(revokeKey(ctx(), caller, caller.intId))).toBe('forbidden');
    expect((await authenticate(ctx(), server.key, '127.0.0.1')).ok).toBe(true);
  });
});
