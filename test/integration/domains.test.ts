import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { dialectName } from '../helpers/database.ts';

const SPF_INCLUDE = '_spf.posthorn.example.net';
const PUBLIC_HOST = 'posthorn.example.net';

const FIELDS = [
  'id',
  'domain',
  'note',
  'status',
  'assignment',
  'types',
  'dkimPublicKey',
  'fromParent',
  'spfHostname',
  'spfValue',
  'spfVerified',
  'dkimHostname',
  'dkimSelector',
  'dkimValue',
  'dkimVerified',
  // The optional second key (Ed25519, RFC 8463): null for a domain that signs with RSA only.
  'dkimEd25519Hostname',
  'dkimEd25519Selector',
  'dkimEd25519Value',
  'dkimEd25519Verified',
  'cnameHostname',
  'cnameValue',
  'cnameVerified',
  'dmarcHostname',
  'dmarcValue',
  'dmarcVerified',
  'createdAt',
  'lastCheckedAt',
].sort();

/** Publishes every record the API asked for, the way a customer would. */
function publish(dns: DnsTestServer, d: any) {
  dns.setTxt(d.spfHostname, 'google-site-verification=abc', d.spfValue);
  dns.setTxt(d.dkimHostname, d.dkimValue);
  dns.setCname(d.cnameHostname, d.cnameValue);
  dns.setTxt(d.dmarcHostname, d.dmarcValue);
}

function unpublish(dns: DnsTestServer, d: any) {
  for (const name of [d.spfHostname, d.dkimHostname, d.cnameHostname, d.dmarcHostname]) dns.remove(name);
}

describe(`sending domains (${dialectName})`, () => {
  let dns: DnsTestServer;
  let sink: SmtpSink;
  let server: TestServer;
  let other: { accountId: string; key: string; api: ApiClient };

  beforeAll(async () => {
    dns = await startDnsServer();
    sink = await startSmtpSink();
    // POSTHORN_REQUIRE_VERIFIED_DOMAIN is left at its default (true).
    server = await startTestServer({
      POSTHORN_DELIVERY: 'relay',
      POSTHORN_RELAYS: sink.url,
      POSTHORN_DNS_SERVERS: dns.address,
      PUBLIC_URL: `https://${PUBLIC_HOST}`,
      POSTHORN_SPF_INCLUDE: SPF_INCLUDE,
    });
    other = await server.newAccount();
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
    await dns?.close();
  });

  const add = (domain: string, note?: string) =>
    server.api.post('/v1/domain/sending', note === undefined ? { domain } : { domain, note });
  /** PUT …/verify-txt answers an array holding the domain (the contract's shape); the domain. */
  const verify = async (id: number) => {
    const res = await server.api.put(`/v1/domain/sending/${id}/verify-txt`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toHaveLength(1);
    return { status: res.status, body: res.body[0] };
  };

  it('adds a domain and answers 201 with the DNS records to publish, never the private key', async () => {
    const before = new Date();
    const res = await add('Mail.Example.COM', 'main brand');
    expect(res.status).toBe(201);
    const d = res.body;
    expect(Object.keys(d).sort()).toEqual(FIELDS);
    const yyyymm = `${before.getUTCFullYear()}${String(before.getUTCMonth() + 1).padStart(2, '0')}`;
    expect(d.dkimSelector).toMatch(new RegExp(`^ph${yyyymm}[0-9a-f]{4}$`));
    expect(d).toEqual({
      id: expect.any(Number),
      domain: 'mail.example.com',
      note: 'main brand',
      status: ['Unverified'],
      assignment: 'PRIMARY',
      types: ['sending'],
      fromParent: false,
      dkimPublicKey: d.dkimValue.split('p=')[1],
      spfHostname: 'mail.example.com',
      spfValue: `v=spf1 include:${SPF_INCLUDE} ~all`,
      spfVerified: false,
      dkimHostname: `${d.dkimSelector}._domainkey.mail.example.com`,
      dkimSelector: d.dkimSelector,
      dkimValue: expect.stringMatching(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$/),
      dkimVerified: false,
      dkimEd25519Hostname: null,
      dkimEd25519Selector: null,
      dkimEd25519Value: null,
      dkimEd25519Verified: null,
      cnameHostname: 'bounces.mail.example.com',
      cnameValue: PUBLIC_HOST,
      cnameVerified: false,
      dmarcHostname: '_dmarc.mail.example.com',
      dmarcValue: 'v=DMARC1; p=none;',
      dmarcVerified: false,
      createdAt: expect.any(Number),
      lastCheckedAt: null,
    });
    expect(Number.isInteger(d.id)).toBe(true);
    expect(d.createdAt).toBeGreaterThanOrEqual(before.getTime() - 1000);
    // p= is a real RSA-2048 public key.
    const p = d.dkimValue.split('p=')[1];
    const key = createPublicKey({ key: Buffer.from(p, 'base64'), format: 'der', type: 'spki' });
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(res.text).not.toMatch(/PRIVATE|private/);

    const got = await server.api.get(`/v1/domain/sending/${d.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(d);
    expect(got.text).not.toMatch(/PRIVATE|private/);
  });

  it('refuses invalid domain names with 422', async () => {
    for (const domain of [
      'not a domain',
      'localhost',
      'exa_mple.com',
      '-bad.example.com',
      'example.123',
      'a..example.com',
      `${'a'.repeat(64)}.com`,
      'user@example.com',
    ]) {
      const res = await add(domain);
      expect(res.status, domain).toBe(422);
      expect(res.body.errors[0].code, domain).toBe('1401');
      expect(res.body.errors[0].description, domain).toContain('domain');
    }
    const empty = await add('  ');
    expect(empty.status).toBe(422);
    expect(empty.body.errors[0].code).toBe('1400');
    const missing = await server.api.post('/v1/domain/sending', { note: 'x' });
    expect(missing.status).toBe(422);
    expect(missing.body.errors[0]).toMatchObject({ code: '1400', description: 'domain is required' });
    const wrongType = await server.api.post('/v1/domain/sending', { domain: 42 });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.errors[0].code).toBe('1401');
  });

  it('answers 409 when the account already has the domain, whatever its case', async () => {
    expect((await add('dup.example.com')).status).toBe(201);
    const again = await add('DUP.example.com');
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      errors: [{ message: 'conflict', description: expect.stringContaining('dup.example.com'), code: '1409' }],
      message: expect.stringContaining('dup.example.com'),
    });
    // Another account may add the same name: it proves ownership with its own key.
    const theirs = await other.api.post('/v1/domain/sending', { domain: 'dup.example.com' });
    expect(theirs.status).toBe(201);
    await other.api.delete(`/v1/domain/sending/${theirs.body.id}`);
  });

  it('lists, reads and deletes domains', async () => {
    const a = (await add('list-a.example.com')).body;
    const b = (await add('list-b.example.com')).body;
    const all = await server.api.get('/v1/domain/sending?size=1000');
    expect(all.status).toBe(200);
    // The contract's list: an array holding one {count, sendingDomain}.
    expect(all.body).toHaveLength(1);
    const listed = all.body[0];
    expect(listed.count).toBe(listed.sendingDomain.length);
    const names = listed.sendingDomain.map((d: any) => d.domain);
    expect(names).toEqual(expect.arrayContaining(['list-a.example.com', 'list-b.example.com', 'mail.example.com']));
    expect(names.indexOf('list-b.example.com')).toBeLessThan(names.indexOf('list-a.example.com')); // newest first
    expect(listed.sendingDomain.find((d: any) => d.id === a.id)).toEqual({
      id: a.id,
      domain: 'list-a.example.com',
      status: 'Unverified',
      assignment: 'PRIMARY',
      default: false,
      types: ['sending'],
      createdAt: a.createdAt,
      note: null,
      spfVerified: false,
      dkimVerified: false,
      cnameVerified: false,
      dmarcVerified: false,
      lastCheckedAt: null,
      fromParent: false,
    });
    expect(all.text).not.toMatch(/PRIVATE|private/);

    const page1 = (await server.api.get('/v1/domain/sending?page=1&size=1')).body[0];
    const page2 = (await server.api.get('/v1/domain/sending?page=2&size=1')).body[0];
    expect(page1.count).toBe(listed.count);
    expect(page1.sendingDomain).toHaveLength(1);
    expect(page2.sendingDomain).toHaveLength(1);
    expect(page1.sendingDomain[0].id).not.toBe(page2.sendingDomain[0].id);
    expect((await server.api.get('/v1/domain/sending?size=1001')).status).toBe(422);
    expect((await server.api.get('/v1/domain/sending?page=0')).status).toBe(422);

    const del = await server.api.delete(`/v1/domain/sending/${b.id}`);
    expect(del.status).toBe(200);
    expect(del.text).toBe('"Sending domain deleted"'); // the contract answers a JSON string
    const gone = await server.api.get(`/v1/domain/sending/${b.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.errors[0].code).toBe('1600');
    expect((await server.api.delete(`/v1/domain/sending/${b.id}`)).status).toBe(404);
    expect((await server.api.put(`/v1/domain/sending/${b.id}/verify-txt`)).status).toBe(404);
    const after = (await server.api.get('/v1/domain/sending?size=1000')).body[0];
    expect(after.count).toBe(listed.count - 1);
    expect(after.sendingDomain.map((d: any) => d.id)).not.toContain(b.id);
    // The name can be added again once deleted.
    expect((await add('list-b.example.com')).status).toBe(201);
  });

  it("keeps each account's domains to itself", async () => {
    const mine = (await add('private.example.com')).body;
    publish(dns, mine);
    try {
      for (const [method, path] of [
        ['GET', `/v1/domain/sending/${mine.id}`],
        ['PUT', `/v1/domain/sending/${mine.id}/verify-txt`],
        ['DELETE', `/v1/domain/sending/${mine.id}`],
      ] as const) {
        const res = await other.api.request(method, path);
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body.errors[0].code).toBe('1600');
      }
      const list = await other.api.get('/v1/domain/sending?size=1000');
      expect(list.status).toBe(200);
      expect(list.body[0].sendingDomain.map((d: any) => d.id)).not.toContain(mine.id);
      expect(list.body[0].sendingDomain.map((d: any) => d.domain)).not.toContain('private.example.com');
      // Nothing the other account did touched it: still there, still never checked.
      const still = await server.api.get(`/v1/domain/sending/${mine.id}`);
      expect(still.status).toBe(200);
      expect(still.body).toMatchObject({ status: ['Unverified'], lastCheckedAt: null });
    } finally {
      unpublish(dns, mine);
    }
  });

  it('needs the Sending Domains permission', async () => {
    const key = await server.newKey({ name: 'sender only', permissions: ['send_api'] });
    const api = new ApiClient(server.url, key);
    const res = await api.get('/v1/domain/sending');
    expect(res.status).toBe(403);
    expect(res.body.errors[0].code).toBe('1301');
    expect((await api.post('/v1/domain/sending', { domain: 'x.example.com' })).status).toBe(403);
  });

  it('documents the routes, body and record fields in the OpenAPI document', async () => {
    const doc = (await server.api.get('/v1/openapi.json')).body;
    const collection = doc.paths['/v1/domain/sending'];
    expect(Object.keys(collection).sort()).toEqual(['get', 'post']);
    const added = collection.post.responses['201'].content['application/json'].schema;
    expect(Object.keys(added.properties).sort()).toEqual(FIELDS);
    expect(added.properties).not.toHaveProperty('dkimPrivateKey');
    expect(collection.post.requestBody.content['application/json'].schema.required).toEqual(['domain']);
    expect(Object.keys(doc.paths['/v1/domain/sending/{id}']).sort()).toEqual(['delete', 'get']);
    expect(doc.paths['/v1/domain/sending/{id}/verify-txt'].put.responses['200']).toBeDefined();
    for (const path of [
      '/v1/domain/sending/{id}/share',
      '/v1/domain/sending/{id}/spf-suggestion',
      '/v1/domain/sending/unverified-spf',
    ])
      expect(doc.paths[path], path).toBeDefined();
  });

  describe('verify-txt', () => {
    it('reports every record unverified before anything is published', async () => {
      const d = (await add('fresh.example.com')).body;
      const before = Date.now();
      const res = await verify(d.id);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: d.id,
        status: ['Unverified'],
        spfVerified: false,
        dkimVerified: false,
        cnameVerified: false,
        dmarcVerified: false,
      });
      expect(res.body.lastCheckedAt).toBeGreaterThanOrEqual(before - 1000);
      expect(dns.queries).toEqual(
        expect.arrayContaining([
          'TXT fresh.example.com',
          `TXT ${d.dkimHostname}`,
          'CNAME bounces.fresh.example.com',
          'TXT _dmarc.fresh.example.com',
        ]),
      );
    });

    it('verifies the published records and stores the result', async () => {
      const d = (await add('brand.example.com')).body;
      publish(dns, d);
      const res = await verify(d.id);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: ['Verified'],
        spfVerified: true,
        dkimVerified: true,
        cnameVerified: true,
        dmarcVerified: true,
      });
      expect(res.body.lastCheckedAt).not.toBeNull();
      const got = await server.api.get(`/v1/domain/sending/${d.id}`);
      expect(got.body).toEqual(res.body);

      // Taking the records down and checking again takes the verification back.
      unpublish(dns, d);
      const again = await verify(d.id);
      expect(again.body).toMatchObject({
        status: ['Unverified'],
        spfVerified: false,
        dkimVerified: false,
        cnameVerified: false,
        dmarcVerified: false,
      });
    });

    it('accepts harmless variations: split or spaced DKIM keys, CNAME case and trailing dot, other SPF terms', async () => {
      const d = (await add('variant.example.com')).body;
      const p = d.dkimValue.split('p=')[1];
      dns.setTxt(d.spfHostname, `v=spf1 ip4:192.0.2.1 +include:${SPF_INCLUDE.toUpperCase()} -all`);
      dns.setTxt(d.dkimHostname, `v=DKIM1;k=rsa; t=s; p=${p.slice(0, 100)} ${p.slice(100, 300)}  ${p.slice(300)}`);
      dns.setCname(d.cnameHostname, `${PUBLIC_HOST.toUpperCase()}.`);
      dns.setTxt(d.dmarcHostname, 'v=DMARC1; p=reject; rua=mailto:d@example.com');
      const res = await verify(d.id);
      expect(res.body).toMatchObject({
        status: ['Verified'],
        spfVerified: true,
        dkimVerified: true,
        cnameVerified: true,
        dmarcVerified: true,
      });
      unpublish(dns, d);
    });

    it('is verified with SPF and DKIM alone; return path and DMARC are reported but optional', async () => {
      const d = (await add('minimal.example.com')).body;
      dns.setTxt(d.spfHostname, d.spfValue);
      dns.setTxt(d.dkimHostname, d.dkimValue);
      const res = await verify(d.id);
      expect(res.body).toMatchObject({
        status: ['Verified'],
        spfVerified: true,
        dkimVerified: true,
        cnameVerified: false,
        dmarcVerified: false,
      });
      unpublish(dns, d);
    });

    it('keeps the last result for a record whose lookup fails, rather than unverifying the domain', async () => {
      const d = (await add('flaky.example.com')).body;
      publish(dns, d);
      const first = await verify(d.id);
      expect(first.body).toMatchObject({ status: ['Verified'], dkimVerified: true });
      await new Promise((r) => setTimeout(r, 5));
      dns.failing.add(d.dkimHostname);
      dns.remove(d.dmarcHostname);
      try {
        const second = await verify(d.id);
        expect(second.body).toMatchObject({
          status: ['Verified'],
          spfVerified: true,
          dkimVerified: true,
          cnameVerified: true,
          dmarcVerified: false,
        });
        expect(second.body.lastCheckedAt).toBeGreaterThan(first.body.lastCheckedAt);
      } finally {
        dns.failing.delete(d.dkimHostname);
        unpublish(dns, d);
      }
    });

    it('stays unverified with a wrong DKIM key, a wrong SPF include or a wrong CNAME target', async () => {
      const d = (await add('wrong.example.com')).body;
      const otherKey = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'der' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      dns.setTxt(d.spfHostname, d.spfValue);
      dns.setTxt(d.dkimHostname, `v=DKIM1; k=rsa; p=${otherKey.publicKey.toString('base64')}`);
      dns.setCname(d.cnameHostname, 'mail.somebody-else.example');
      dns.setTxt(d.dmarcHostname, 'DMARC1 please');
      let res = await verify(d.id);
      expect(res.body).toMatchObject({
        status: ['Unverified'],
        spfVerified: true,
        dkimVerified: false,
        cnameVerified: false,
        dmarcVerified: false,
      });

      dns.setTxt(d.dkimHostname, d.dkimValue);
      dns.setTxt(d.spfHostname, 'v=spf1 include:_spf.google.com ~all', `include:${SPF_INCLUDE}`);
      res = await verify(d.id);
      expect(res.body).toMatchObject({ status: ['Unverified'], spfVerified: false, dkimVerified: true });
      unpublish(dns, d);
    });
  });

  describe('sending needs a verified domain in production', () => {
    const mail = (from: string, to: string) => ({
      from: { email: from },
      to: [{ email: to }],
      subject: 'Order shipped',
      bodyText: 'Your order is on its way.',
    });

    it('refuses an unverified domain with 1403, then sends once it is verified', async () => {
      const d = (await add('shop.example.com')).body;
      const refused = await server.api.post(
        '/v1/layang/transmissions',
        mail('orders@shop.example.com', 'buyer@customer.test'),
      );
      expect(refused.status).toBe(422);
      expect(refused.body).toEqual({
        errors: [
          {
            message: 'sender domain not verified',
            description: expect.stringContaining('shop.example.com'),
            code: '1403',
          },
        ],
        message: expect.stringContaining('shop.example.com'),
      });
      expect(Object.keys(refused.body.errors[0]).sort()).toEqual(['code', 'description', 'message']);
      // A domain never added is refused the same way.
      const unknown = await server.api.post(
        '/v1/layang/transmissions',
        mail('a@nowhere.example.com', 'buyer@customer.test'),
      );
      expect(unknown.status).toBe(422);
      expect(unknown.body.errors[0].code).toBe('1403');

      publish(dns, d);
      const verified = await verify(d.id);
      expect(verified.body.status).toEqual(['Verified']);

      const sent = await server.api.post(
        '/v1/layang/transmissions',
        mail('orders@shop.example.com', 'buyer@customer.test'),
      );
      expect(sent.status).toBe(200);
      const [message] = await waitForTransmission(server.api, sent.body.transmissionId);
      expect(message.status).toBe('delivered');
      const received = sink.messages.find((m) => m.to.includes('buyer@customer.test'));
      expect(received?.parsed.from?.text).toBe('orders@shop.example.com');
      expect(received?.parsed.subject).toBe('Order shipped');
    });

    it('lets a sandbox key send from any domain, captured instead of delivered', async () => {
      const key = await server.newKey({ name: 'sb', environment: 'sandbox' });
      const sandbox = new ApiClient(server.url, key);
      const res = await sandbox.post('/v1/layang/transmissions', mail('test@not-mine.example', 'tester@customer.test'));
      expect(res.status).toBe(200);
      const [message] = await waitForTransmission(server.api, res.body.transmissionId);
      expect(message).toMatchObject({ status: 'captured', sandbox: true });
      const raw = await server.api.get(`/v1/messages/${message.id}/raw`);
      expect(raw.text).toContain('From: test@not-mine.example');
      expect(sink.messages.some((m) => m.to.includes('tester@customer.test'))).toBe(false);
    });
  });
});
