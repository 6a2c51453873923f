// Typed Mailtarget clients send every optional field, empty when unset. On /v1 an empty string,
// array or object means "absent" (the field's default), never "invalid" — but the entries of
// free-form maps (metadata, substitutionData) are data and stay as sent. Also: template ids chosen
// by the client, as the contract's TemplateForm has them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { createTemplate, startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';

describe(`empty means absent on /v1; client-chosen template ids (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  async function captured(transmissionId: string) {
    const [message] = await waitForTransmission(server.api, transmissionId);
    return simpleParser((await server.api.get(`/v1/messages/${message.id}/raw`)).text);
  }

  it('accepts a transmission with every optional field empty, as a Go or Java SDK sends it', async () => {
    const res = await server.api.post('/v1/layang/transmissions', {
      subject: 'Empty fields',
      from: { email: 'app@example.com', name: '' },
      replyTo: [],
      to: [{ email: 'ada@example.org', name: '' }],
      cc: [],
      bcc: [],
      bodyText: 'Hello',
      bodyHtml: '',
      headers: [],
      attachments: [],
      metadata: {},
      optionsAttributes: {},
      templateId: '',
      substitutionData: {},
      allRCPTto: [],
      sendAt: '',
      campaignId: '',
      labels: [],
    });
    expect(res.status, res.text).toBe(200);
    const mail = await captured(res.body.transmissionId);
    expect(mail.from?.value).toEqual([{ address: 'app@example.com', name: '' }]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe('ada@example.org');
    expect(mail.replyTo).toBeUndefined();
    expect(mail.cc).toBeUndefined();
    expect(mail.html).toBe(false);
    expect(mail.text?.trim()).toBe('Hello');
  });

  it('treats {} for replyTo and headers, and a reply-to with empty fields, as absent', async () => {
    for (const extra of [{ replyTo: {}, headers: {} }, { replyTo: { email: '', name: '' } }]) {
      const res = await server.api.post('/v1/layang/transmissions', {
        from: { email: 'app@example.com' },
        to: [{ email: 'bob@example.org' }],
        subject: 'Objects',
        bodyText: 'x',
        ...extra,
      });
      expect(res.status, res.text).toBe(200);
      expect((await captured(res.body.transmissionId)).replyTo).toBeUndefined();
    }
  });

  it('keeps empty values inside free-form maps: metadata and substitution data are data', async () => {
    const res = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'app@example.com' },
      to: [{ email: 'carol@example.org' }],
      subject: 'Hi [{{ name }}]',
      bodyText: 'x',
      metadata: { order: '', source: 'test' },
      substitutionData: { name: '' },
    });
    expect(res.status, res.text).toBe(200);
    expect((await captured(res.body.transmissionId)).subject).toBe('Hi []');
    const events = (await server.api.get(`/v1/analytic/transmission/${res.body.transmissionId}/events`)).body.events;
    expect(events[0].metadata).toEqual({ order: '', source: 'test' });
  });

  it('still requires what is required: an empty subject or recipient list is missing (1400)', async () => {
    const noSubject = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'app@example.com' },
      to: [{ email: 'dan@example.org' }],
      subject: '',
      bodyText: 'x',
    });
    expect(noSubject.status).toBe(422);
    expect(noSubject.body.errors[0].code).toBe('1400');
    const noTo = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'app@example.com' },
      to: [],
      subject: 's',
      bodyText: 'x',
    });
    expect(noTo.body.errors[0]).toMatchObject({ code: '1400', description: 'to is required' });
  });

  it('ignores empty query parameters and empty body fields of management routes', async () => {
    expect((await server.api.get('/v1/template?page=&size=&search=')).status).toBe(200);
    expect((await server.api.get('/v1/domain/sending?page=&size=&search=&status=')).status).toBe(200);
    const d = await server.api.post('/v1/domain/sending', { domain: 'empty.example.com', note: '', assignment: '' });
    expect(d.status, d.text).toBe(201);
    expect(d.body).toMatchObject({ note: null, assignment: 'PRIMARY' });
    const t = await createTemplate(server.api, { id: 'empty-put', name: 'T', subject: 'Keep me', html: '<p>x</p>' });
    // "" is absent: the subject stays; null still clears.
    const kept = await server.api.put('/v1/template/empty-put', { name: 'T2', subject: '', text: '' });
    expect(kept.body).toMatchObject({ name: 'T2', subject: 'Keep me', html: '<p>x</p>', text: null });
    const cleared = await server.api.put(`/v1/template/${t.body.id}`, { subject: null });
    expect(cleared.body.subject).toBeNull();
  });

  describe('template ids', () => {
    it('uses the id the client chooses, unique per account', async () => {
      const posted = await server.api.post('/v1/template', {
        id: 'order-shipped',
        name: 'Shipped',
        html: '<p>{{n}}</p>',
      });
      expect(posted.status).toBe(200);
      expect(posted.body).toBe(true);
      expect(posted.headers.get('location')).toBe('/v1/template/order-shipped');
      const read = await server.api.get('/v1/template/order-shipped');
      expect(read.body).toMatchObject({ id: 'order-shipped', name: 'Shipped' });

      const again = await server.api.post('/v1/template', { id: 'order-shipped', name: 'Again', html: 'x' });
      expect(again.status).toBe(409);
      expect(again.body.errors[0].code).toBe('1409');
      // Another account may use the same id for its own template.
      const other = await server.newAccount();
      expect((await other.api.post('/v1/template', { id: 'order-shipped', name: 'Theirs', html: 'y' })).status).toBe(
        200,
      );
      expect((await other.api.get('/v1/template/order-shipped')).body.name).toBe('Theirs');
      expect((await server.api.get('/v1/template/order-shipped')).body.name).toBe('Shipped');

      for (const id of ['has space', '-dash-first', 'x'.repeat(65), 'slash/inside']) {
        const bad = await server.api.post('/v1/template', { id, name: 'Bad', html: 'x' });
        expect(bad.status, id).toBe(422);
      }

      const sent = await server.api.post('/v1/layang/transmissions', {
        from: { email: 'app@example.com' },
        to: [{ email: 'erin@example.org' }],
        subject: 'Order',
        templateId: 'order-shipped',
        substitutionData: { n: 7 },
      });
      expect(sent.status, sent.text).toBe(200);
      expect((await captured(sent.body.transmissionId)).html).toContain('<p>7</p>');
    });

    it('searches templates by id or name, any case', async () => {
      const api = (await server.newAccount()).api;
      await api.post('/v1/template', { id: 'welcome-de', name: 'Willkommen', html: 'x' });
      await api.post('/v1/template', { id: 'receipt', name: 'Receipt 100%', html: 'x' });
      const ids = async (q: string) =>
        (await api.get(`/v1/template?search=${encodeURIComponent(q)}`)).body.data.map((t: any) => t.id);
      expect(await ids('WELCOME')).toEqual(['welcome-de']);
      expect(await ids('willkommen')).toEqual(['welcome-de']);
      expect(await ids('100%')).toEqual(['receipt']);
      expect(await ids('_')).toEqual([]); // a LIKE wildcard is a plain character here
    });
  });
});
