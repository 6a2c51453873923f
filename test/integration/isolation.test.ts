// Account isolation: another account's transmissions, messages, templates and sending domains do
// not exist for a caller. Every such read or change is a 404 with code 1600, exactly like an id
// that exists nowhere, so ids cannot be probed across accounts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTemplate,
  startTestServer,
  waitForTransmission,
  type ApiClient,
  type ApiResponse,
  type TestServer,
} from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';

function expectNotFound(res: ApiResponse, what: string) {
  expect(res.status, `${what}: ${res.text}`).toBe(404);
  expect(res.body, what).toEqual({
    errors: [{ message: expect.any(String), description: expect.any(String), code: '1600' }],
    message: expect.any(String),
  });
}

describe(`account isolation (${dialectName})`, () => {
  let server: TestServer;
  let owner: ApiClient;
  let intruder: ApiClient;
  let transmissionId: string;
  let messageId: string;

  beforeAll(async () => {
    server = await startTestServer();
    owner = server.api;
    intruder = (await server.newAccount()).api;
    const sent = await owner.post('/v1/layang/transmissions', {
      from: { email: 'owner@example.com' },
      to: [{ email: 'customer@example.org' }],
      subject: 'Private',
      bodyHtml: '<p>For the owner only</p>',
    });
    expect(sent.status).toBe(200);
    transmissionId = sent.body.transmissionId;
    const [message] = await waitForTransmission(owner, transmissionId);
    messageId = message.id;
  });
  afterAll(async () => server?.close());

  describe('transmissions and messages', () => {
    it('the owner can read them (control)', async () => {
      expect((await owner.get(`/v1/analytic/transmission/${transmissionId}`)).status).toBe(200);
      expect(
        (await owner.get(`/v1/analytic/transmission/${transmissionId}/events`)).body.events.length,
      ).toBeGreaterThan(0);
      expect((await owner.get(`/v1/messages/${messageId}`)).status).toBe(200);
      expect((await owner.get(`/v1/messages/${messageId}/raw`)).text).toContain('For the owner only');
      expect((await owner.get(`/v1/messages?transmissionId=${transmissionId}`)).body.count).toBe(1);
    });

    it('another account gets 404/1600 for the transmission and its events', async () => {
      expectNotFound(await intruder.get(`/v1/analytic/transmission/${transmissionId}`), 'transmission');
      expectNotFound(await intruder.get(`/v1/analytic/transmission/${transmissionId}/events`), 'transmission events');
    });

    it('another account gets 404/1600 for the message and its raw MIME', async () => {
      expectNotFound(await intruder.get(`/v1/messages/${messageId}`), 'message');
      const raw = await intruder.get(`/v1/messages/${messageId}/raw`);
      expectNotFound(raw, 'raw message');
      expect(raw.text).not.toContain('For the owner only');
    });

    it("another account's message list is empty, filtered by the transmission or not", async () => {
      const filtered = await intruder.get(`/v1/messages?transmissionId=${transmissionId}`);
      expect(filtered.status).toBe(200);
      expect(filtered.body).toMatchObject({ count: 0, data: [] });
      const all = await intruder.get('/v1/messages?size=1000');
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ count: 0, data: [] });
      const byRecipient = await intruder.get('/v1/messages?recipient=customer%40example.org');
      expect(byRecipient.body).toMatchObject({ count: 0, data: [] });
    });

    it('another account cannot send with the owner’s template', async () => {
      const created = await createTemplate(owner, { name: 'owner only', subject: 'S', html: '<p>secret</p>' });
      expect(created.status, created.text).toBe(200);
      const res = await intruder.post('/v1/layang/transmissions', {
        from: { email: 'x@example.com' },
        to: [{ email: 'y@example.org' }],
        templateId: created.body.id,
      });
      expect(res.status).toBe(422);
      expect(res.body.errors[0].code).toBe('1402');
    });
  });

  describe('templates', () => {
    let templateId: string;
    beforeAll(async () => {
      const created = await createTemplate(owner, {
        name: 'Receipt',
        subject: 'Your receipt {{n}}',
        html: '<p>Receipt {{n}}</p>',
      });
      expect(created.status, created.text).toBe(200);
      templateId = created.body.id;
      expect(templateId).toEqual(expect.any(String));
    });

    it('another account gets 404/1600 for GET, PUT, DELETE and preview', async () => {
      expectNotFound(await intruder.get(`/v1/template/${templateId}`), 'template GET');
      expectNotFound(
        await intruder.put(`/v1/template/${templateId}`, { name: 'Hijacked', subject: 'x', html: '<p>x</p>' }),
        'template PUT',
      );
      expectNotFound(await intruder.delete(`/v1/template/${templateId}`), 'template DELETE');
      expectNotFound(
        await intruder.post(`/v1/template/${templateId}/preview`, { substitutionData: { n: 1 } }),
        'template preview',
      );
    });

    it("another account's list does not show it", async () => {
      const list = await intruder.get('/v1/template');
      expect(list.status).toBe(200);
      expect(list.body.data.map((t: { id: string }) => t.id)).not.toContain(templateId);
    });

    it('the template is untouched for its owner afterwards', async () => {
      const res = await owner.get(`/v1/template/${templateId}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: templateId,
        name: 'Receipt',
        subject: 'Your receipt {{n}}',
        html: '<p>Receipt {{n}}</p>',
      });
    });
  });

  describe('sending domains', () => {
    let domainId: number;
    beforeAll(async () => {
      const created = await owner.post('/v1/domain/sending', { domain: 'isolation-owner.example.com' });
      expect(created.status, created.text).toBe(201);
      domainId = created.body.id;
      expect(Number.isInteger(domainId)).toBe(true); // the contract's integer id
    });

    it('another account gets 404/1600 for GET, DELETE and verify-txt', async () => {
      expectNotFound(await intruder.get(`/v1/domain/sending/${domainId}`), 'domain GET');
      expectNotFound(await intruder.delete(`/v1/domain/sending/${domainId}`), 'domain DELETE');
      expectNotFound(await intruder.request('PUT', `/v1/domain/sending/${domainId}/verify-txt`), 'domain verify-txt');
    });

    it("another account's list does not show it", async () => {
      const list = await intruder.get('/v1/domain/sending');
      expect(list.status).toBe(200);
      expect(list.body[0].sendingDomain.map((d: { id: number }) => d.id)).not.toContain(domainId);
    });

    it('the domain is untouched for its owner afterwards', async () => {
      const res = await owner.get(`/v1/domain/sending/${domainId}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: domainId, domain: 'isolation-owner.example.com' });
    });
  });

  it('answers an id that exists nowhere exactly like another account’s id', async () => {
    const missing = 'f'.repeat(24);
    for (const path of [
      `/v1/analytic/transmission/${missing}`,
      `/v1/messages/${missing}`,
      `/v1/template/${missing}`,
      `/v1/domain/sending/${missing}`,
      '/v1/domain/sending/2147483647',
    ]) {
      expectNotFound(await intruder.get(path), path);
    }
  });
});
