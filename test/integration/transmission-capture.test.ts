import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';

describe(`transmission to the capture inbox (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('accepts the README example and captures it with its raw MIME', async () => {
    const res = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'a@example.com' },
      to: [{ email: 'b@example.org' }],
      subject: 'Hi {{name}}',
      bodyHtml: '<p>Hello {{name}}</p>',
      substitutionData: { name: 'Ada' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      message: 'Transmission received',
      transmissionId: expect.stringMatching(/^[0-9a-f]{24}$/),
    });
    const [message] = await waitForTransmission(server.api, res.body.transmissionId);
    expect(message.status).toBe('captured');
    const raw = await server.api.get(`/v1/messages/${message.id}/raw`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toContain('message/rfc822');
    expect(raw.text).toContain('Subject: Hi Ada');
    expect(raw.text).toContain('<p>Hello Ada</p>');
    expect(raw.text).toContain('Hello Ada'); // the derived text part

    const summary = await server.api.get(`/v1/analytic/transmission/${res.body.transmissionId}`);
    expect(summary.body).toMatchObject({
      transmissionId: res.body.transmissionId,
      subject: 'Hi {{name}}',
      status: 'completed',
      recipientCount: 1,
      stats: { delivered: 1, bounced: 0 },
    });
    const events = await server.api.get(`/v1/analytic/transmission/${res.body.transmissionId}/events`);
    expect(events.body.events.map((e: any) => e.type)).toEqual(['injection', 'delivery']);
  });

  it('echoes metadata in every event and shows a decoded preview of captured mail', async () => {
    const res = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'shop@example.com', name: 'Shop' },
      to: [{ email: 'x@example.org', name: 'X', metadata: { order: '42' } }, { email: 'y@example.org' }],
      subject: 'Receipt',
      bodyHtml: '<h1>Thanks</h1>',
      metadata: { source: 'checkout', order: '0' },
    });
    const messages = await waitForTransmission(server.api, res.body.transmissionId);
    const events = (await server.api.get(`/v1/analytic/transmission/${res.body.transmissionId}/events`)).body.events;
    expect(events).toHaveLength(4);
    for (const e of events) {
      expect(e.metadata).toEqual(
        e.recipient === 'x@example.org' ? { source: 'checkout', order: '42' } : { source: 'checkout', order: '0' },
      );
    }
    const x = messages.find((m) => m.recipient === 'x@example.org');
    const detail = await server.api.get(`/v1/messages/${x.id}`);
    expect(detail.body.previewUrl).toBe(`/v1/messages/${x.id}/preview`);
    const preview = await server.api.get(detail.body.previewUrl);
    expect(preview.body).toMatchObject({
      subject: 'Receipt',
      from: { email: 'shop@example.com', name: 'Shop' },
      to: [{ email: 'x@example.org', name: 'X' }],
      html: '<h1>Thanks</h1>',
    });
    // The derived text part keeps a heading's case (the same text whether a template or its rendering is converted).
    expect(preview.body.text).toContain('Thanks');
  });

  it('treats a trailing slash and the /v1/transmissions alias the same', async () => {
    const body = { from: { email: 'a@example.com' }, to: [{ email: 'c@example.org' }], subject: 's', bodyText: 't' };
    expect((await server.api.post('/v1/layang/transmissions/', body)).status).toBe(200);
    expect((await server.api.post('/v1/transmissions', body)).status).toBe(200);
  });
});
