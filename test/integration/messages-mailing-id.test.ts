// /v1/messages shows the mailing a message belongs to as the marketing API shows the mailing: an
// integer id, the same in the list and in one message, and null for transactional mail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { seedReadySubscribers, sendMailingToAll } from '../helpers/mailing-fixtures.ts';

describe(`mailingId in /v1/messages (${dialectName})`, () => {
  let server: TestServer;
  let mailingId: number;
  let transmissionId: string;

  beforeAll(async () => {
    server = await startTestServer();
    await seedReadySubscribers(server.app.ctx.db, server.accountIntId, 3);
    mailingId = await sendMailingToAll(server.api, 'Typed');
    const sent = await server.api.post('/v1/transmissions', {
      from: { email: 'app@example.com' },
      to: [{ email: 'one@example.org' }],
      subject: 'Transactional',
      bodyText: 'hi',
    });
    expect(sent.status, sent.text).toBe(200);
    transmissionId = sent.body.transmissionId;
    await waitFor(
      async () => {
        const res = await server.api.get('/v1/messages?size=100');
        return res.body.count === 4 ? res : null;
      },
      15_000,
      'the mailing and the transmission in the outbox',
    );
  });
  afterAll(async () => server?.close());

  it('is the mailing’s integer id in the list and in one message, and null for a transmission', async () => {
    const list = await server.api.get('/v1/messages?size=100');
    expect(list.status).toBe(200);
    const mailingMessages = list.body.data.filter((m: any) => m.transmissionId !== transmissionId);
    expect(mailingMessages).toHaveLength(3);
    for (const m of mailingMessages) {
      expect(m.mailingId).toBe(mailingId);
      expect(typeof m.mailingId).toBe('number');
      const one = await server.api.get(`/v1/messages/${m.id}`);
      expect(one.status).toBe(200);
      expect(one.body.mailingId).toBe(mailingId);
      expect(typeof one.body.mailingId).toBe('number');
    }
    // The same id the marketing API shows for the mailing.
    expect((await server.api.get(`/api/v1/mailings/${mailingId}`)).body.data.id).toBe(mailingId);

    const transactional = list.body.data.find((m: any) => m.transmissionId === transmissionId);
    expect(transactional.mailingId).toBeNull();
    expect((await server.api.get(`/v1/messages/${transactional.id}`)).body.mailingId).toBeNull();
    // Filtered by transmission the list shows the same.
    const filtered = await server.api.get(`/v1/messages?transmissionId=${transmissionId}`);
    expect(filtered.body.data[0].mailingId).toBeNull();
  });
});
