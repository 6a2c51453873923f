import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ERROR_CODES } from '../../src/http/transactional/errors.ts';

describe('API documentation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.close());

  it('serves an OpenAPI 3.1 document generated from the validation schemas', async () => {
    const res = await server.api.get('/v1/openapi.json', { auth: null });
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    const send = doc.paths['/v1/layang/transmissions'].post;
    const schema = send.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['from', 'to']));
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        'from',
        'to',
        'cc',
        'bcc',
        'replyTo',
        'subject',
        'bodyHtml',
        'bodyText',
        'templateId',
        'substitutionData',
        'headers',
        'attachments',
        'metadata',
        'optionsAttributes',
        'sendAt',
      ]),
    );
    expect(Object.keys(send.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '413', '415', '422']));
    expect(doc.paths['/v1/messages/{id}/raw']).toBeTruthy();
    // Every error code is documented in the document's description.
    for (const code of Object.keys(ERROR_CODES)) expect(doc.info.description).toContain(`| ${code} |`);
  });

  it('serves interactive documentation from local files, no CDN', async () => {
    const page = await server.api.get('/v1/documentation/', { auth: null });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const scripts = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) expect(s).not.toMatch(/^(https?:)?\/\//);
    const bundle = scripts.find((s) => s.includes('swagger-ui-bundle.js'))!;
    const asset = await fetch(new URL(bundle, `${server.url}/v1/documentation/`));
    expect(asset.status).toBe(200);
    expect((await asset.text()).length).toBeGreaterThan(1000);
  });
});
