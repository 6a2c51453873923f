// The marketing API's own OpenAPI document and interactive documentation, separate from the
// transactional ones: each document holds only its surface's paths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { MARKETING_ERROR_CODES } from '../../src/http/marketing/errors.ts';
import { STATUS_TABLE } from '../../src/domain/subscriber-status.ts';
import { SUBSCRIBER_SEARCH, SUBSCRIBER_SORTABLE } from '../../src/services/subscriber-search.ts';

describe('marketing API documentation', () => {
  let server: TestServer;
  let doc: any;
  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_RATE_LIMIT_PER_MINUTE: '120' });
    doc = (await server.api.get('/api/v1/openapi.json', { auth: null })).body;
  });
  afterAll(async () => server?.close());

  it('serves an OpenAPI 3.1 document with only the /api/v1 paths', async () => {
    const res = await server.api.get('/api/v1/openapi.json', { auth: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Posthorn marketing API');
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/v1/whoami',
        '/api/v1/subscribers',
        '/api/v1/subscribers/import',
        '/api/v1/jobs/{id}',
      ]),
    );
    expect(paths.filter((p) => !p.startsWith('/api/v1/'))).toEqual([]);
    // The documentation's own routes are not API endpoints.
    expect(paths.filter((p) => p.includes('openapi') || p.includes('documentation'))).toEqual([]);
    expect(doc.security[0]).toEqual({ basic: [] });
    expect(doc.components.securitySchemes.basic).toMatchObject({ type: 'http', scheme: 'basic' });
  });

  it('documents the CSV upload and the job it answers with', () => {
    const op = doc.paths['/api/v1/subscribers/import'].post;
    expect(Object.keys(op.requestBody.content)).toContain('text/csv');
    expect(op.requestBody.content['text/csv'].schema.type).toBe('string');
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['202', '401', '413', '415', '422']));
    const job = op.responses['202'].content['application/json'].schema.properties.data;
    expect(Object.keys(job.properties)).toEqual(
      expect.arrayContaining([
        'objectType',
        'id',
        'status',
        'progress',
        'processed',
        'created',
        'updated',
        'failed',
        'errors',
      ]),
    );
  });

  it('publishes the error codes, the status table, the search and sorting whitelists and the limits', () => {
    const text: string = doc.info.description;
    for (const [code, e] of Object.entries(MARKETING_ERROR_CODES))
      expect(text).toContain(`| ${code} | ${e.status} | ${e.message} |`);
    for (const row of STATUS_TABLE)
      expect(text).toContain(
        `| ${row.status} | ${row.meaning} | ${row.statusAddition.map((a) => (a === null ? 'null' : a)).join(', ')} |`,
      );
    for (const [field, spec] of Object.entries(SUBSCRIBER_SEARCH)) {
      const name = field === 'customerFields.*' ? 'customerFields.<id>' : field;
      expect(text).toMatch(
        new RegExp(
          `\\| ${name.replace(/[.*<>]/g, '\\$&')} \\| [^|]*${field === 'customerFields.*' ? '' : spec.type}[^|]* \\| [^|]+ \\| ${SUBSCRIBER_SORTABLE.includes(field) ? 'yes' : 'no'} \\|`,
        ),
      );
    }
    expect(text).toContain('"error":"RATE_LIMIT_EXCEEDED"');
    expect(text).toContain('"error":"CONCURRENT_LIMIT_EXCEEDED"');
    // The configured limit, not a constant.
    expect(text).toContain('120 requests per minute');
    expect(text).toContain('12 and up → 5 more minutes each');
  });

  it('keeps the transactional document to the /v1 paths', async () => {
    const res = await server.api.get('/v1/openapi.json', { auth: null });
    expect(res.status).toBe(200);
    const paths = Object.keys(res.body.paths);
    expect(paths).toContain('/v1/layang/transmissions');
    expect(paths.filter((p) => !p.startsWith('/v1/'))).toEqual([]);
    expect(res.body.info.title).toBe('Posthorn transactional API');
    expect(res.body.info.description).not.toContain('RATE_LIMIT_EXCEEDED');
  });

  it('serves interactive documentation for each surface from local files, each with its own document', async () => {
    for (const prefix of ['/api/v1', '/v1']) {
      const page = await server.api.get(`${prefix}/documentation/`, { auth: null });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(assets.length).toBeGreaterThan(0);
      for (const a of assets) expect(a).not.toMatch(/^(https?:)?\/\//);
      const bundle = assets.find((s) => s.includes('swagger-ui-bundle.js'))!;
      const asset = await fetch(new URL(bundle, `${server.url}${prefix}/documentation/`));
      expect(asset.status).toBe(200);
      expect((await asset.text()).length).toBeGreaterThan(1000);
      // The page loads its document from ./json next to it.
      const json = await server.api.get(`${prefix}/documentation/json`, { auth: null });
      expect(json.status).toBe(200);
      expect(Object.keys(json.body.paths).every((p) => p.startsWith(prefix + '/'))).toBe(true);
      expect(json.body).toEqual((await server.api.get(`${prefix}/openapi.json`, { auth: null })).body);
    }
  });

  it('lets a client read the documentation without a key and without using its limits', async () => {
    const res = await server.api.get('/api/v1/openapi.json', { auth: null });
    expect(res.headers.get('x-ratelimit-limit')).toBeNull();
  });
});
