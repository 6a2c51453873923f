// The contract test: every operation of Mailtarget's two published OpenAPI documents
// (apiconfig-openapi-spec.json and transmission-openapi-spec.json, as published in the public
// repository wisnuekas/mailtarget-sentinel; transcribed in mailtarget-schemas.ts) is called on a
// real Posthorn at /v1<path>, and its 2xx answer must have the contract's status and validate
// against the contract's response schema. A shape that breaks the contract fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiClient,
  startTestServer,
  waitForTransmission,
  type ApiResponse,
  type TestServer,
} from '../helpers/server.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { dialectName } from '../helpers/database.ts';
import { OPERATIONS, operationKey, type ContractOperation } from './mailtarget-schemas.ts';
import { contractValidator, describeErrors } from './contract-validator.ts';

const SPF_INCLUDE = '_spf.posthorn.example.net';
const validatorFor = contractValidator();

describe(`Mailtarget's published contract (${dialectName})`, () => {
  let dns: DnsTestServer;
  let server: TestServer;
  let api: ApiClient;
  const exercised = new Set<string>();
  const today = new Date().toISOString().slice(0, 10);

  beforeAll(async () => {
    dns = await startDnsServer();
    server = await startTestServer({ POSTHORN_DNS_SERVERS: dns.address, POSTHORN_SPF_INCLUDE: SPF_INCLUDE });
    api = server.api;
  });
  afterAll(async () => {
    await server?.close();
    await dns?.close();
  });

  /** Checks one answer against its operation; returns the body for the next step. */
  function holds(method: ContractOperation['method'], path: string, res: ApiResponse): any {
    const op = OPERATIONS.find((o) => o.method === method && o.path === path);
    if (!op) throw new Error(`${method} ${path} is not in the contract`);
    exercised.add(operationKey(op));
    expect(res.status, `${method} /v1${path}: ${res.text.slice(0, 400)}`).toBe(op.status);
    expect(res.headers.get('content-type') ?? '', `${method} /v1${path}`).toMatch(/^application\/json/);
    const validate = validatorFor(op.response);
    expect(validate(res.body), `${method} /v1${path}: ${describeErrors(validate)}\n${res.text.slice(0, 600)}`).toBe(
      true,
    );
    return res.body;
  }

  describe.sequential('transmission-openapi-spec.json and the analytics that read it back', () => {
    let transmissionId = '';

    it('POST /layang/transmissions', async () => {
      const body = holds(
        'POST',
        '/layang/transmissions',
        await api.post('/v1/layang/transmissions', {
          subject: 'Contract {{name}}',
          from: { email: 'contract@example.com', name: 'Contract' },
          to: [{ email: 'reader@example.org', name: 'Reader' }],
          bodyHtml: '<p>Hello {{name}}</p>',
          substitutionData: { name: 'Ada' },
          metadata: { order: '42' },
        }),
      );
      transmissionId = body.transmissionId;
      await waitForTransmission(api, transmissionId);
    });

    it('GET /analytic/summary', async () => {
      holds('GET', '/analytic/summary', await api.get(`/v1/analytic/summary?from=${today}&to=${today}`));
    });

    it('GET /analytic/summary/breakdown', async () => {
      for (const groupBy of ['DAY', 'SENDING_DOMAIN', 'RECIPIENT_DOMAIN', 'SUBACCOUNT_ID', 'IP_POOL', 'LABEL'])
        holds(
          'GET',
          '/analytic/summary/breakdown',
          await api.get(`/v1/analytic/summary/breakdown?from=${today}&to=${today}&groupBy=${groupBy}`),
        );
    });

    it('GET /analytic/transmission/{id}', async () => {
      const body = holds(
        'GET',
        '/analytic/transmission/{id}',
        await api.get(`/v1/analytic/transmission/${transmissionId}`),
      );
      expect(body.transmissionId).toBe(transmissionId);
    });

    it('GET /analytic/transmission/{id}/events', async () => {
      const body = holds(
        'GET',
        '/analytic/transmission/{id}/events',
        await api.get(`/v1/analytic/transmission/${transmissionId}/events`),
      );
      expect(body.events.length).toBeGreaterThan(0);
    });
  });

  describe.sequential('apiconfig-openapi-spec.json: account and permissions', () => {
    it('GET /account', async () => {
      holds('GET', '/account', await api.get('/v1/account'));
    });

    it('GET /account/usage-quota', async () => {
      holds('GET', '/account/usage-quota', await api.get('/v1/account/usage-quota'));
    });

    it('GET /permission', async () => {
      const body = holds('GET', '/permission', await api.get('/v1/permission'));
      expect(body.length).toBeGreaterThan(0);
    });
  });

  describe.sequential('apiconfig-openapi-spec.json: API keys', () => {
    let keyId = 0;

    it('POST /api-key', async () => {
      const permissions = (await api.get('/v1/permission')).body as Array<{ id: number }>;
      const body = holds(
        'POST',
        '/api-key',
        await api.post('/v1/api-key', { name: 'contract key', permissionIds: [permissions[0]!.id], allowedIp: '' }),
      );
      keyId = body.id;
    });

    it('GET /api-key', async () => {
      holds('GET', '/api-key', await api.get('/v1/api-key?page=1&size=10'));
    });

    it('GET /api-key/{id}', async () => {
      holds('GET', '/api-key/{id}', await api.get(`/v1/api-key/${keyId}`));
    });

    it('PUT /api-key/{id}', async () => {
      holds('PUT', '/api-key/{id}', await api.put(`/v1/api-key/${keyId}`, { name: 'contract key, renamed' }));
    });

    it('DELETE /api-key/{id}', async () => {
      holds('DELETE', '/api-key/{id}', await api.delete(`/v1/api-key/${keyId}`));
    });
  });

  describe.sequential('apiconfig-openapi-spec.json: sending domains', () => {
    let domainId = 0;

    it('POST /domain/sending', async () => {
      const body = holds(
        'POST',
        '/domain/sending',
        await api.post('/v1/domain/sending', { domain: 'contract.example.com', note: 'contract' }),
      );
      domainId = body.id;
      dns.setTxt('contract.example.com', 'v=spf1 include:_spf.provider.example ~all');
      dns.setTxt('_spf.provider.example', 'v=spf1 ip4:192.0.2.0/24 -all');
    });

    it('GET /domain/sending', async () => {
      holds('GET', '/domain/sending', await api.get('/v1/domain/sending?page=1&size=10'));
    });

    it('GET /domain/sending/unverified-spf', async () => {
      const body = holds('GET', '/domain/sending/unverified-spf', await api.get('/v1/domain/sending/unverified-spf'));
      expect(body.data).toContainEqual({ id: domainId, name: 'contract.example.com' });
    });

    it('GET /domain/sending/{id}', async () => {
      holds('GET', '/domain/sending/{id}', await api.get(`/v1/domain/sending/${domainId}`));
    });

    it('PUT /domain/sending/{id}/share', async () => {
      holds('PUT', '/domain/sending/{id}/share', await api.put(`/v1/domain/sending/${domainId}/share`));
    });

    it('GET /domain/sending/{id}/spf-suggestion', async () => {
      const body = holds(
        'GET',
        '/domain/sending/{id}/spf-suggestion',
        await api.get(`/v1/domain/sending/${domainId}/spf-suggestion`),
      );
      expect(body.suggestion).toBe(`v=spf1 include:_spf.provider.example include:${SPF_INCLUDE} ~all`);
    });

    it('PUT /domain/sending/{id}/verify-txt', async () => {
      holds('PUT', '/domain/sending/{id}/verify-txt', await api.put(`/v1/domain/sending/${domainId}/verify-txt`));
    });

    it('DELETE /domain/sending/{id}', async () => {
      holds('DELETE', '/domain/sending/{id}', await api.delete(`/v1/domain/sending/${domainId}`));
    });
  });

  describe.sequential('apiconfig-openapi-spec.json: sub-accounts', () => {
    let subAccountId = 0;

    it('POST /sub-account', async () => {
      const body = holds('POST', '/sub-account', await api.post('/v1/sub-account', { name: 'Contract subsidiary' }));
      subAccountId = body.id;
    });

    it('GET /sub-account', async () => {
      holds('GET', '/sub-account', await api.get('/v1/sub-account?page=1&size=10'));
    });

    it('GET /sub-account/{id}', async () => {
      holds('GET', '/sub-account/{id}', await api.get(`/v1/sub-account/${subAccountId}`));
    });

    it('PUT /sub-account/{id}', async () => {
      holds('PUT', '/sub-account/{id}', await api.put(`/v1/sub-account/${subAccountId}`, { name: 'Contract renamed' }));
    });
  });

  describe.sequential('apiconfig-openapi-spec.json: suppressions and templates', () => {
    it('GET /suppression/list', async () => {
      holds('GET', '/suppression/list', await api.get('/v1/suppression/list'));
    });

    it('POST /template', async () => {
      holds(
        'POST',
        '/template',
        await api.post('/v1/template', { id: 'contract-welcome', name: 'Welcome', html: '<p>Hi {{name}}</p>' }),
      );
    });

    it('GET /template', async () => {
      const body = holds('GET', '/template', await api.get('/v1/template?page=1&size=10&search=welcome'));
      expect(body.data.map((t: any) => t.id)).toEqual(['contract-welcome']);
    });
  });

  it('called every operation of both documents', () => {
    expect([...exercised].sort()).toEqual(OPERATIONS.map(operationKey).sort());
    expect(OPERATIONS.filter((o) => o.document === 'apiconfig')).toHaveLength(27);
    expect(OPERATIONS.filter((o) => o.document === 'transmission')).toHaveLength(1);
    expect(new Set(OPERATIONS.map(operationKey)).size).toBe(OPERATIONS.length);
  });

  it("documents every contract operation in Posthorn's own OpenAPI document, with its 2xx answer", async () => {
    const doc = (await api.get('/v1/openapi.json')).body;
    const missing = OPERATIONS.filter((op) => {
      const documented = doc.paths[`/v1${op.path}`]?.[op.method.toLowerCase()];
      return !documented?.responses?.[String(op.status)]?.content?.['application/json']?.schema;
    }).map(operationKey);
    expect(missing).toEqual([]);
  });
});
