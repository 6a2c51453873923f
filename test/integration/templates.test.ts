import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import {
  createTemplate,
  startTestServer,
  waitForTransmission,
  type ApiClient,
  type TestServer,
} from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';

describe(`stored templates (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  /** A fresh account, so counts and message lists only see what the test made. */
  const freshApi = async (): Promise<ApiClient> => (await server.newAccount()).api;

  const send = (api: ApiClient, body: Record<string, unknown>) =>
    api.post('/v1/layang/transmissions', {
      from: { email: 'app@example.com' },
      to: [{ email: 'ada@example.org' }],
      ...body,
    });

  async function capturedMail(api: ApiClient, transmissionId: string) {
    const [message] = await waitForTransmission(api, transmissionId);
    expect(message.status).toBe('captured');
    const raw = await api.get(`/v1/messages/${message.id}/raw`);
    expect(raw.status).toBe(200);
    return simpleParser(raw.text);
  }

  async function expectError(res: { status: number; body: any }, status: number, code: string) {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.errors[0].code).toBe(code);
  }

  it('creates, reads, changes and deletes a template', async () => {
    const api = await freshApi();
    // The contract's POST answers the boolean true; Location names the new template.
    const before = Date.now();
    const posted = await api.post('/v1/template', {
      name: 'Welcome',
      subject: 'Hi {{name}}',
      html: '<p>Hello {{name}}</p>',
    });
    expect(posted.status).toBe(200);
    expect(posted.text).toBe('true');
    expect(posted.headers.get('content-type')).toMatch(/^application\/json/);
    expect(posted.headers.get('location')).toMatch(/^\/v1\/template\/[0-9a-f]{24}$/);
    const created = await api.get(posted.headers.get('location')!);
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{24}$/),
      name: 'Welcome',
      subject: 'Hi {{name}}',
      html: '<p>Hello {{name}}</p>',
      text: null,
      createdAt: expect.any(Number),
      updatedAt: created.body.createdAt,
    });
    expect(created.body.createdAt).toBeGreaterThanOrEqual(before);
    expect(created.body.createdAt).toBeLessThanOrEqual(Date.now());
    const id = created.body.id;

    const read = await api.get(`/v1/template/${id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    // PUT replaces only the fields it sends.
    const changed = await api.put(`/v1/template/${id}`, { subject: 'Welcome, {{name}}', text: 'Hello {{name}}' });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      id,
      name: 'Welcome',
      subject: 'Welcome, {{name}}',
      html: '<p>Hello {{name}}</p>',
      text: 'Hello {{name}}',
      createdAt: created.body.createdAt,
    });
    expect(changed.body.updatedAt).toBeGreaterThanOrEqual(created.body.createdAt);
    expect((await api.get(`/v1/template/${id}`)).body).toEqual(changed.body);

    // null clears a part; the template must keep html or text.
    const cleared = await api.put(`/v1/template/${id}`, { html: null, name: 'Welcome (text)' });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ name: 'Welcome (text)', html: null, text: 'Hello {{name}}' });
    await expectError(await api.put(`/v1/template/${id}`, { text: null }), 422, '1400');
    await expectError(await api.put(`/v1/template/${id}`, {}), 422, '1400');
    expect((await api.get(`/v1/template/${id}`)).body.text).toBe('Hello {{name}}');

    const deleted = await api.delete(`/v1/template/${id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ message: 'Template deleted', id });
    await expectError(await api.get(`/v1/template/${id}`), 404, '1600');
    await expectError(await api.delete(`/v1/template/${id}`), 404, '1600');
    await expectError(await api.put(`/v1/template/${id}`, { name: 'x' }), 404, '1600');
  });

  it('validates what it stores', async () => {
    const api = server.api;
    await expectError(await createTemplate(api, { html: '<p>x</p>' }), 422, '1400');
    await expectError(await createTemplate(api, { name: '   ', html: '<p>x</p>' }), 422, '1400');
    await expectError(await createTemplate(api, { name: 'no body', subject: 's' }), 422, '1400');
    await expectError(await createTemplate(api, { name: 'empty bodies', html: '', text: '' }), 422, '1400');
    await expectError(await createTemplate(api, { name: 'a\r\nb', html: 'x' }), 422, '1401');
    await expectError(
      await createTemplate(api, { name: 'n', subject: 'a\nBcc: x@example.com', html: 'x' }),
      422,
      '1401',
    );
    await expectError(await createTemplate(api, { name: 'n', html: 42 }), 422, '1401');
    await expectError(await api.get('/v1/template?size=1001'), 422, '1401');
    await expectError(await api.get('/v1/template?page=0'), 422, '1401');

    const limited = await server.newKey({ name: 'send only', permissions: ['send_api'] });
    await expectError(await api.get('/v1/template', { auth: `Bearer ${limited}` }), 403, '1301');
  });

  it('refuses a template that does not parse (create and update)', async () => {
    const api = await freshApi();
    const broken = await createTemplate(api, { name: 'broken', html: '<p>{% if %}</p>' });
    await expectError(broken, 422, '1406');
    expect(broken.body.errors[0].description).toMatch(/^html: /);
    await expectError(
      await createTemplate(api, { name: 'bad subject', subject: 'Hi {{ name', html: 'x' }),
      422,
      '1406',
    );
    await expectError(
      await createTemplate(api, { name: 'bad filter', text: '{{ name | no_such_filter }}' }),
      422,
      '1406',
    );
    await expectError(
      await createTemplate(api, { name: 'include', html: "{% include 'package.json' %}" }),
      422,
      '1406',
    );
    expect((await api.get('/v1/template')).body.count).toBe(0);

    const good = await createTemplate(api, { name: 'good', html: '<p>{{ a }}</p>' });
    await expectError(await api.put(`/v1/template/${good.body.id}`, { html: '{% for x in %}' }), 422, '1406');
    expect((await api.get(`/v1/template/${good.body.id}`)).body.html).toBe('<p>{{ a }}</p>');
  });

  it('lists templates newest first, with page and size', async () => {
    const api = await freshApi();
    const ids: string[] = [];
    for (let i = 1; i <= 12; i++) ids.push((await createTemplate(api, { name: `T${i}`, text: `body ${i}` })).body.id);
    const newestFirst = [...ids].reverse();

    const first = await api.get('/v1/template');
    expect(first.status).toBe(200);
    expect(first.body.count).toBe(12);
    expect(first.body.data.map((t: any) => t.id)).toEqual(newestFirst.slice(0, 10));
    expect(first.body.data[0]).toMatchObject({
      name: 'T12',
      text: 'body 12',
      html: null,
      subject: null,
      createdAt: expect.any(Number),
    });

    const second = await api.get('/v1/template?page=2');
    expect(second.body.count).toBe(12);
    expect(second.body.data.map((t: any) => t.id)).toEqual(newestFirst.slice(10));

    const sized = await api.get('/v1/template?page=2&size=5');
    expect(sized.body.data.map((t: any) => t.id)).toEqual(newestFirst.slice(5, 10));
    const beyond = await api.get('/v1/template?page=4&size=5');
    expect(beyond.body).toEqual({ count: 12, data: [] });
  });

  it('previews: {{var}} escaped in HTML, {{{var}}} raw, subject and text not escaped', async () => {
    const api = await freshApi();
    const t = await createTemplate(api, {
      name: 'p',
      subject: 'For {{ who }}',
      html: '<p>{{ who }}</p><div>{{{ who }}}</div>{% if vip %}<i>vip</i>{% endif %}',
    });
    const who = `<b>Tom & "Jerry"</b>`;
    const preview = await api.post(`/v1/template/${t.body.id}/preview`, { substitutionData: { who, vip: true } });
    expect(preview.status).toBe(200);
    expect(preview.body.subject).toBe(`For ${who}`);
    expect(preview.body.html).toBe(`<p>&lt;b&gt;Tom &amp; &#34;Jerry&#34;&lt;/b&gt;</p><div>${who}</div><i>vip</i>`);
    // No text in the template: one is derived from the rendered HTML.
    expect(preview.body.text).toContain('Tom & "Jerry"');
    expect(preview.body.text).not.toContain('<p>');

    // Without a body (or data), variables render empty.
    const bare = await api.request('POST', `/v1/template/${t.body.id}/preview`);
    expect(bare.status).toBe(200);
    expect(bare.body).toMatchObject({ subject: 'For ', html: '<p></p><div></div>' });

    const withText = await createTemplate(api, { name: 'text', html: '<p>{{ v }}</p>', text: 'Plain {{ v }}' });
    const p2 = await api.post(`/v1/template/${withText.body.id}/preview`, { substitutionData: { v: '<&>' } });
    expect(p2.body).toEqual({ subject: null, html: '<p>&lt;&amp;&gt;</p>', text: 'Plain <&>' });

    await expectError(
      await api.post(`/v1/template/${t.body.id}/preview`, { substitutionData: { big: 'x'.repeat(101 * 1024) } }),
      422,
      '1401',
    );
    await expectError(await api.post('/v1/template/000000000000000000000000/preview', {}), 404, '1600');
  });

  it('sends a transmission from a template, with the request subject taking precedence', async () => {
    const api = await freshApi();
    const t = await createTemplate(api, {
      name: 'order',
      subject: 'Order {{ order }} for {{ name }}',
      html: '<p>Thanks {{ name }} for order {{ order }}</p>',
      text: 'Thanks {{ name }}, order {{ order }}',
    });
    expect(t.status).toBe(200);

    const res = await send(api, { templateId: t.body.id, substitutionData: { name: 'Ada <3', order: 42 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const mail = await capturedMail(api, res.body.transmissionId);
    expect(mail.subject).toBe('Order 42 for Ada <3');
    expect(mail.html).toContain('<p>Thanks Ada &lt;3 for order 42</p>');
    expect(mail.text?.trim()).toBe('Thanks Ada <3, order 42');

    const own = await send(api, {
      templateId: t.body.id,
      subject: 'Your order, {{ name }}',
      substitutionData: { name: 'Bob', order: 7 },
    });
    expect(own.status).toBe(200);
    const mail2 = await capturedMail(api, own.body.transmissionId);
    expect(mail2.subject).toBe('Your order, Bob');
    expect(mail2.html).toContain('<p>Thanks Bob for order 7</p>');
  });

  it("refuses an unknown templateId (including another account's) with 1402", async () => {
    const api = await freshApi();
    await expectError(await send(api, { templateId: 'no-such-template' }), 422, '1402');
    const theirs = await createTemplate(server.api, { name: 'theirs', subject: 's', html: 'x' });
    await expectError(await send(api, { templateId: theirs.body.id }), 422, '1402');
    expect((await api.get('/v1/messages')).body.count).toBe(0);
  });

  it('refuses a transmission whose body has a template syntax error and queues nothing', async () => {
    const api = await freshApi();
    const res = await send(api, { subject: 'ok', bodyHtml: '<p>{% for x in %}</p>' });
    await expectError(res, 422, '1406');
    await expectError(await send(api, { subject: 'Hi {{ name | nope }}', bodyText: 'x' }), 422, '1406');
    expect((await api.get('/v1/messages')).body).toEqual({ count: 0, data: [] });
  });

  it("hides one account's templates from another", async () => {
    const owner = await freshApi();
    const other = await freshApi();
    const t = await createTemplate(owner, { name: 'private', subject: 's', html: '<p>{{ secret }}</p>' });
    const path = `/v1/template/${t.body.id}`;

    await expectError(await other.get(path), 404, '1600');
    await expectError(await other.put(path, { name: 'taken over' }), 404, '1600');
    await expectError(await other.post(`${path}/preview`, { substitutionData: { secret: 1 } }), 404, '1600');
    await expectError(await other.delete(path), 404, '1600');
    expect((await other.get('/v1/template')).body).toEqual({ count: 0, data: [] });

    const still = await owner.get(path);
    expect(still.status).toBe(200);
    expect(still.body).toEqual(t.body);
    expect((await owner.get('/v1/template')).body.count).toBe(1);
  });

  it('keeps the content of an accepted transmission when the template changes afterwards', async () => {
    const api = await freshApi();
    const t = await createTemplate(api, {
      name: 'snap',
      subject: 'Version {{ v }}',
      html: '<p>first edition {{ v }}</p>',
    });
    // sendAt has whole seconds: at least 2.5 s ahead leaves time to edit before delivery.
    const sendAt = new Date(Math.ceil((Date.now() + 2500) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const res = await send(api, { templateId: t.body.id, substitutionData: { v: 1 }, sendAt });
    expect(res.status, JSON.stringify(res.body)).toBe(200);

    const edited = await api.put(`/v1/template/${t.body.id}`, {
      subject: 'Changed {{ v }}',
      html: '<p>second edition {{ v }}</p>',
    });
    expect(edited.status).toBe(200);
    // The edit happened while the message was still waiting in the queue.
    const waiting = await api.get(`/v1/messages?transmissionId=${res.body.transmissionId}`);
    expect(waiting.body.data.map((m: any) => m.status)).toEqual(['queued']);

    const mail = await capturedMail(api, res.body.transmissionId);
    expect(mail.subject).toBe('Version 1');
    expect(mail.html).toContain('first edition 1');
    expect(mail.html).not.toContain('second edition');

    // A transmission accepted after the edit uses the new content.
    const later = await send(api, { templateId: t.body.id, substitutionData: { v: 2 } });
    expect((await capturedMail(api, later.body.transmissionId)).subject).toBe('Changed 2');
  });
});
