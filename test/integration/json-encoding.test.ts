// JSON bodies in another charset than UTF-8, with a byte-order mark or with bytes that are not
// UTF-8, against a real server: refused in each surface's dialect (415 for a declared charset, 400
// for the bytes), and nothing is created; UTF-8 however it is spelled is accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const UTF16LE_BOM = Buffer.from([0xff, 0xfe]);

describe(`JSON body encodings (${dialectName})`, () => {
  let server: TestServer;
  let seq = 0;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  const transmission = () => ({
    from: { email: 'app@example.com' },
    to: [{ email: `r${++seq}@example.org` }],
    subject: 'Grüße',
    bodyText: 'Hallo',
  });
  const subscriber = () => ({ email: `s${++seq}@example.org`, firstname: 'Jürgen' });

  const send = (path: string, body: Buffer, contentType: string) =>
    server.api.request('POST', path, { rawBody: body, headers: { 'content-type': contentType } });

  async function subscriberCount(): Promise<number> {
    const res = await server.api.get('/api/v1/subscribers?limit=1');
    return res.body.meta.pagination.total;
  }
  async function messageCount(): Promise<number> {
    return (await server.api.get('/v1/messages?size=1')).body.count;
  }

  it('refuses a declared non-UTF-8 charset with 415 on /v1 (code 1415)', async () => {
    const before = await messageCount();
    for (const charset of ['utf-16', 'UTF-16LE', '"iso-8859-1"', 'windows-1252']) {
      const body = Buffer.from(JSON.stringify(transmission()), charset.includes('16') ? 'utf16le' : 'latin1');
      const res = await send('/v1/transmissions', body, `application/json; charset=${charset}`);
      expect(res.status, charset).toBe(415);
      expect(res.body.errors[0].code).toBe('1415');
      expect(res.body.errors[0].description).toContain(
        `charset "${charset.replace(/"/g, '').toLowerCase()}"; send it in UTF-8`,
      );
    }
    expect(await messageCount()).toBe(before);
  });

  it('refuses a declared non-UTF-8 charset with 415 on /api/v1 (code 1002, errors.body)', async () => {
    const before = await subscriberCount();
    const res = await send(
      '/api/v1/subscribers',
      Buffer.from(JSON.stringify(subscriber()), 'utf16le'),
      'application/json; charset=utf-16le',
    );
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ status: 'error', code: 1002, statusCode: 415 });
    expect(res.body.errors.body[0]).toContain('charset "utf-16le"');
    expect(await subscriberCount()).toBe(before);
  });

  it('refuses a byte-order mark with 400 on both surfaces, declared charset or not', async () => {
    const beforeMessages = await messageCount();
    const beforeSubscribers = await subscriberCount();
    const cases: Array<[Buffer, string, string]> = [
      [Buffer.concat([UTF8_BOM, Buffer.from(JSON.stringify(transmission()))]), 'application/json', 'UTF-8'],
      [
        Buffer.concat([UTF8_BOM, Buffer.from(JSON.stringify(transmission()))]),
        'application/json; charset=utf-8',
        'UTF-8',
      ],
      [
        Buffer.concat([UTF16LE_BOM, Buffer.from(JSON.stringify(transmission()), 'utf16le')]),
        'application/json',
        'UTF-16LE',
      ],
    ];
    for (const [body, type, mark] of cases) {
      const v1 = await send('/v1/transmissions', body, type);
      expect(v1.status, `${mark} ${type}`).toBe(400);
      expect(v1.body.errors[0].code).toBe('1410');
      expect(v1.body.errors[0].description).toContain(`starts with a ${mark} byte-order mark`);
    }
    const api = await send(
      '/api/v1/subscribers',
      Buffer.concat([UTF8_BOM, Buffer.from(JSON.stringify(subscriber()))]),
      'application/json',
    );
    expect(api.status).toBe(400);
    expect(api.body).toMatchObject({ code: 1002, statusCode: 400 });
    expect(api.body.errors.body[0]).toContain('byte-order mark');
    expect(await messageCount()).toBe(beforeMessages);
    expect(await subscriberCount()).toBe(beforeSubscribers);
  });

  it('refuses bytes that are not UTF-8 with 400 instead of replacing them', async () => {
    const before = await subscriberCount();
    // "Jürgen" in Latin-1, sent as if it were UTF-8.
    const res = await send(
      '/api/v1/subscribers',
      Buffer.from(JSON.stringify(subscriber()), 'latin1'),
      'application/json',
    );
    expect(res.status).toBe(400);
    expect(res.body.errors.body[0]).toContain('not valid UTF-8');
    expect(await subscriberCount()).toBe(before);
  });

  it('accepts UTF-8 however the charset is spelled, and keeps the text intact', async () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
      const v1 = await send('/v1/transmissions', Buffer.from(JSON.stringify(transmission())), type);
      expect(v1.status, `${type}: ${v1.text}`).toBe(200);
    }
    const created = await send(
      '/api/v1/subscribers',
      Buffer.from(JSON.stringify(subscriber())),
      'application/json; charset=UTF-8',
    );
    expect(created.status, created.text).toBe(201);
    expect(created.body.data.firstname).toBe('Jürgen');
  });
});
