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
    expect(res.body).toEqual({ message: 'Transmission received', transmissionId: expect.stringMatching(/^[0-9a-f]{24}$/) });
    const [message] = await waitForTransmission(server.api, res.body.transmissionId);
    expect(message.status).toBe('captured');
    const raw = await server.api.get(`/v1/messages/${message.id}/raw`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toContain('message/rfc822');
    expect(raw.text).toContain('Subject: Hi Ada');
    expect(raw.text).toContain('<p>Hello Ada</p>');
    expect(raw.text).toContain('Hello Ada'); // the derived text part

    const summary = await server.api.get(`/v1/analytic/transmission/${res.body.transmissionId}`);
    expect(summary.body).toMatchObject({ transmissionId: res.body.transmissionId, subject: 'Hi {{name}}', status: 'completed', recipientCount: 1, stats: { delivered: 1, bounced: 0 } });
    const events = await server.api.get(`/v1/analytic/transmission/${res.body.transmissionId}/events`);
    expect(events.body.events.map((e: any) => e.type)).toEqual(['injection', 'delivery']);
  });

  it('treats a trailing slash and the /v1/transmissions alias the same', async () => {
    const body = { from: { email: 'a@example.com' }, to: [{ email: 'c@example.org' }], subject: 's', bodyText: 't' };
    expect((await server.api.post('/v1/layang/transmissions/', body)).status).toBe(200);
    expect((await server.api.post('/v1/transmissions', body)).status).toBe(200);
  });
});
