// Dual DKIM signatures (RFC 8463): a domain added with an Ed25519 key next to its RSA key shows
// both records to publish; a message from it, delivered straight to the recipient's exchanger,
// carries two signatures that an independent verifier (mailauth) passes with the published keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore mailauth ships no type declarations
import { authenticate } from 'mailauth';
import { startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { startMxWorld, type MxServer, type MxWorld } from '../helpers/mx-world.ts';
import { dialectName } from '../helpers/database.ts';

describe(`Ed25519 + RSA DKIM over direct MX delivery (${dialectName})`, () => {
  let world: MxWorld;
  let inbox: MxServer;
  let server: TestServer;
  let domain: any;

  beforeAll(async () => {
    world = await startMxWorld();
    inbox = await world.addServer('127.0.0.2');
    world.route('inbox.example', [10, 'mx.inbox.example', '127.0.0.2']);
    server = await startTestServer({ ...world.env(), PUBLIC_URL: 'https://posthorn.example.net' });
  });
  afterAll(async () => {
    await server?.close();
    await world?.close();
  });

  it('shows both keys to publish and checks both in DNS', async () => {
    const res = await server.api.post('/v1/domain/sending', { domain: 'dual.example.org', dkimEd25519: true });
    expect(res.status, res.text).toBe(201);
    domain = res.body;
    expect(domain.dkimValue).toMatch(/^v=DKIM1; k=rsa; p=/);
    expect(domain.dkimEd25519Selector).toBe(`${domain.dkimSelector}-ed`);
    expect(domain.dkimEd25519Hostname).toBe(`${domain.dkimEd25519Selector}._domainkey.dual.example.org`);
    // The bare 32-byte public key, base64: 44 characters.
    expect(domain.dkimEd25519Value).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    world.dns.setTxt(domain.spfHostname, domain.spfValue);
    world.dns.setTxt(domain.dkimHostname, domain.dkimValue);
    world.dns.setTxt(domain.dkimEd25519Hostname, domain.dkimEd25519Value);
    const verified = await server.api.put(`/v1/domain/sending/${domain.id}/verify-txt`);
    // The contract answers verify-txt with an array holding the domain.
    expect(verified.body[0]).toMatchObject({ status: ['Verified'], dkimVerified: true, dkimEd25519Verified: true });

    const rsaOnly = await server.api.post('/v1/domain/sending', { domain: 'rsa-only.example.org' });
    expect(rsaOnly.body).toMatchObject({
      dkimEd25519Selector: null,
      dkimEd25519Value: null,
      dkimEd25519Verified: null,
    });
  });

  it('signs with both keys, and a verifier passes both signatures', async () => {
    const res = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'hello@dual.example.org' },
      to: [{ email: 'reader@inbox.example' }],
      subject: 'Two signatures',
      bodyHtml: '<p>Signed twice.</p>',
    });
    expect(res.status, res.text).toBe(200);
    const [m] = await waitForTransmission(server.api, res.body.transmissionId);
    expect(m.status, m.lastResponse).toBe('delivered');
    const [received] = await inbox.waitForCount(1);
    const records = new Map([
      [domain.dkimHostname, domain.dkimValue],
      [domain.dkimEd25519Hostname, domain.dkimEd25519Value],
    ]);
    const result = await authenticate(received!.raw, {
      resolver: async (name: string, rrtype: string) => {
        const record = rrtype === 'TXT' ? records.get(name.toLowerCase()) : undefined;
        if (record) return [[record]];
        throw Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      },
      ip: '127.0.0.1',
      helo: 'posthorn.test.example',
      sender: received!.from,
      mta: 'mx.inbox.example',
      disableArc: true,
      disableBimi: true,
    });
    const results = result.dkim.results as Array<{ selector: string; algo: string; status: { result: string } }>;
    expect(results).toHaveLength(2);
    expect(results.map((r) => [r.selector, r.algo, r.status.result]).sort()).toEqual(
      [
        [domain.dkimSelector, 'rsa-sha256', 'pass'],
        [domain.dkimEd25519Selector, 'ed25519-sha256', 'pass'],
      ].sort(),
    );
  });
});
