// Idempotency-Key: a replay answers like the first request and sends nothing more; another body
// under the same key is a conflict; concurrent duplicates still produce exactly one transmission.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';

const SEND = '/v1/layang/transmissions';

function body(subject: string) {
  return { from: { email: 'sender@example.com' }, to: [{ email: 'rcpt@example.org' }], subject, bodyText: 'Hello' };
}

describe(`Idempotency-Key (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  async function messagesOf(transmissionId: string) {
    const res = await server.api.get(`/v1/messages?transmissionId=${transmissionId}&size=1000`);
    expect(res.status).toBe(200);
    return res.body as { count: number; data: any[] };
  }

  async function totalMessages(): Promise<number> {
    return (await server.api.get('/v1/messages?size=1')).body.count as number;
  }

  it('replays the same key and body with the same transmissionId and sends once', async () => {
    const headers = { 'idempotency-key': 'order-1001' };
    const before = await totalMessages();
    const first = await server.api.post(SEND, body('receipt 1001'), { headers });
    expect(first.status).toBe(200);
    const captured = await waitForTransmission(server.api, first.body.transmissionId);
    expect(captured).toHaveLength(1);
    expect(captured[0].status).toBe('captured');

    const second = await server.api.post(SEND, body('receipt 1001'), { headers });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect((await messagesOf(first.body.transmissionId)).count).toBe(1);
    expect(await totalMessages()).toBe(before + 1);
  });

  it('treats the same fields in another order as the same body', async () => {
    const headers = { 'idempotency-key': 'order-1002' };
    const first = await server.api.post(
      SEND,
      { subject: 'same', from: { email: 'sender@example.com' }, bodyText: 'x', to: [{ email: 'rcpt@example.org' }] },
      { headers },
    );
    const second = await server.api.post(
      SEND,
      { to: [{ email: 'rcpt@example.org' }], bodyText: 'x', from: { email: 'sender@example.com' }, subject: 'same' },
      { headers },
    );
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.transmissionId).toBe(first.body.transmissionId);
  });

  it('refuses the same key with a different body with 409/1409 and sends nothing', async () => {
    const headers = { 'idempotency-key': 'order-1003' };
    const first = await server.api.post(SEND, body('first body'), { headers });
    expect(first.status).toBe(200);
    const before = await totalMessages();
    const conflict = await server.api.post(SEND, body('second body'), { headers });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toEqual({
      message: 'conflict',
      errors: [{ message: expect.any(String), description: expect.stringContaining('Idempotency-Key'), code: '1409' }],
    });
    expect(await totalMessages()).toBe(before);
    // The first answer is still what the key replays.
    expect((await server.api.post(SEND, body('first body'), { headers })).body.transmissionId).toBe(
      first.body.transmissionId,
    );
  });

  it('answers 20 concurrent duplicates with one transmissionId and one message', async () => {
    const headers = { 'idempotency-key': 'burst-2001' };
    const before = await totalMessages();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => server.api.post(SEND, body('burst'), { headers })),
    );
    for (const res of responses) expect(res.status, res.text).toBe(200);
    const ids = new Set(responses.map((r) => r.body.transmissionId));
    expect(ids.size).toBe(1);
    const [transmissionId] = [...ids] as [string];
    const captured = await waitForTransmission(server.api, transmissionId);
    expect(captured).toHaveLength(1);
    expect(await totalMessages()).toBe(before + 1);
    const summary = await server.api.get(`/v1/analytic/transmission/${transmissionId}`);
    expect(summary.body.recipientCount).toBe(1);
  });

  it('scopes keys to the account: another account may use the same key', async () => {
    const headers = { 'idempotency-key': 'shared-3001' };
    const mine = await server.api.post(SEND, body('mine'), { headers });
    const other = await server.newAccount();
    const theirs = await other.api.post(SEND, body('theirs'), { headers });
    expect(mine.status).toBe(200);
    expect(theirs.status).toBe(200);
    expect(theirs.body.transmissionId).not.toBe(mine.body.transmissionId);
  });

  it('does not remember a key whose request was refused', async () => {
    const headers = { 'idempotency-key': 'fix-and-retry-4001' };
    const bad = await server.api.post(SEND, { ...body('retry'), from: { email: 'not-an-address' } }, { headers });
    expect(bad.status).toBe(422);
    const good = await server.api.post(SEND, body('retry'), { headers });
    expect(good.status).toBe(200);
  });

  it('accepts a key of 256 characters and refuses a longer or empty one with 422', async () => {
    expect(
      (await server.api.post(SEND, body('long key'), { headers: { 'idempotency-key': 'k'.repeat(256) } })).status,
    ).toBe(200);
    const before = await totalMessages();
    for (const key of ['k'.repeat(257), 'x'.repeat(1000), '']) {
      const res = await server.api.post(SEND, body('too long'), { headers: { 'idempotency-key': key } });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        message: 'invalid field value',
        errors: [
          { message: expect.any(String), description: expect.stringContaining('Idempotency-Key'), code: '1401' },
        ],
      });
    }
    expect(await totalMessages()).toBe(before);
  });
});
