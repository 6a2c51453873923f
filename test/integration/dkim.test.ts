// DKIM end to end: a domain is added and verified through the API, a message from it goes through
// the relay to a real SMTP sink, and an independent verifier (mailauth) checks the signature with
// the key record the API told us to publish.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore mailauth ships no type declarations (ignore rather than expect-error: a later .d.ts must not break this)
import { authenticate } from 'mailauth';
import { startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type ReceivedMessage, type SmtpSink } from '../helpers/smtp-sink.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { dialectName } from '../helpers/database.ts';

interface DkimResult {
  signingDomain: string;
  selector: string;
  status: { result: string; comment?: string };
}

const notFound = (name: string) => Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });

describe(`DKIM signatures (${dialectName})`, () => {
  let dns: DnsTestServer;
  let sink: SmtpSink;
  let server: TestServer;
  let domain: any;
  let received: ReceivedMessage;
  const lookups: string[] = [];

  /** The stub resolver serves only the DKIM key record, exactly as the API asked us to publish it. */
  const resolver = async (name: string, rrtype: string) => {
    lookups.push(`${rrtype} ${name}`);
    if (rrtype === 'TXT' && name.toLowerCase() === domain.dkimHostname) return [[domain.dkimValue]];
    throw notFound(name);
  };

  const verify = async (raw: Buffer | string): Promise<DkimResult[]> => {
    const result = await authenticate(raw, {
      resolver,
      ip: '127.0.0.1',
      helo: 'posthorn.test',
      sender: received.from,
      mta: 'sink.test',
      disableArc: true,
      disableBimi: true,
    });
    return result.dkim.results as DkimResult[];
  };

  beforeAll(async () => {
    dns = await startDnsServer();
    sink = await startSmtpSink();
    server = await startTestServer({
      POSTHORN_DELIVERY: 'relay',
      POSTHORN_RELAYS: sink.url,
      POSTHORN_DNS_SERVERS: dns.address,
      PUBLIC_URL: 'https://posthorn.example.net',
    });

    domain = (await server.api.post('/v1/domain/sending', { domain: 'news.example.org' })).body;
    dns.setTxt(domain.spfHostname, domain.spfValue);
    dns.setTxt(domain.dkimHostname, domain.dkimValue);
    dns.setCname(domain.cnameHostname, domain.cnameValue);
    const verified = await server.api.put(`/v1/domain/sending/${domain.id}/verify-txt`);
    expect(verified.body).toMatchObject([{ status: ['Verified'], dkimVerified: true, cnameVerified: true }]);

    const res = await server.api.post('/v1/layang/transmissions', {
      from: { email: 'hello@news.example.org', name: 'Example News' },
      to: [{ email: 'reader@inbox.test', name: 'Reader' }],
      subject: 'Weekly digest: ünïcode too',
      bodyHtml: '<p>Hello {{name}}, here is your digest.</p>',
      substitutionData: { name: 'Ada' },
    });
    expect(res.status).toBe(200);
    const [message] = await waitForTransmission(server.api, res.body.transmissionId);
    expect(message.status).toBe('delivered');
    [received] = await sink.waitForCount(1);
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
    await dns?.close();
  });

  it('signs with the domain key so an independent verifier passes it', async () => {
    const results = await verify(received.raw);
    expect(results).toHaveLength(1);
    expect(results[0]!.status.result).toBe('pass');
    expect(results[0]!.signingDomain).toBe('news.example.org');
    expect(results[0]!.selector).toBe(domain.dkimSelector);
    expect(lookups).toContain(`TXT ${domain.dkimHostname}`);
  });

  it('signs the headers a receiver must be able to trust', () => {
    const header = received.raw
      .toString('utf8')
      .split(/\r\n\r\n/)[0]!
      .replace(/\r\n[ \t]+/g, ' ');
    const dkim = header.split('\r\n').find((l) => /^DKIM-Signature:/i.test(l));
    expect(dkim).toBeDefined();
    const tags = new Map(
      dkim!
        .replace(/^DKIM-Signature:\s*/i, '')
        .split(';')
        .map((t) => {
          const [k, ...v] = t.split('=');
          return [k!.trim(), v.join('=').replace(/\s+/g, '')] as const;
        }),
    );
    expect(tags.get('d')).toBe('news.example.org');
    expect(tags.get('s')).toBe(domain.dkimSelector);
    expect(tags.get('a')).toBe('rsa-sha256');
    expect(tags.get('c')).toBe('relaxed/relaxed');
    const signed = tags.get('h')!.toLowerCase().split(':');
    expect(signed).toEqual(
      expect.arrayContaining(['from', 'to', 'subject', 'date', 'message-id', 'mime-version', 'content-type']),
    );
  });

  it('uses the verified return-path subdomain for the envelope sender', () => {
    expect(received.from).toMatch(/^bounces\+[0-9a-f]{24}@bounces\.news\.example\.org$/);
  });

  it('fails verification when one byte of the body changes', async () => {
    const raw = received.raw.toString('latin1');
    const bodyStart = raw.indexOf('\r\n\r\n') + 4;
    const at = raw.indexOf('digest', bodyStart);
    expect(at).toBeGreaterThan(bodyStart);
    const tampered = raw.slice(0, at) + 'D' + raw.slice(at + 1);
    expect(Buffer.byteLength(tampered, 'latin1')).toBe(received.raw.length);
    const [result] = await verify(Buffer.from(tampered, 'latin1'));
    expect(result!.status.result).not.toBe('pass');
    expect(['fail', 'neutral']).toContain(result!.status.result);
  });

  it('fails verification when a signed header changes', async () => {
    const raw = received.raw.toString('latin1').replace(/^Subject: .*$/m, 'Subject: Weekly digest: you won a prize');
    expect(raw).not.toBe(received.raw.toString('latin1'));
    const [result] = await verify(Buffer.from(raw, 'latin1'));
    expect(result!.status.result).not.toBe('pass');
  });

  it('does not pass against a key other than the published one', async () => {
    const published = domain.dkimValue;
    try {
      const other = (await server.api.post('/v1/domain/sending', { domain: 'other.example.org' })).body;
      domain = { ...domain, dkimValue: other.dkimValue };
      const [result] = await verify(received.raw);
      expect(result!.status.result).not.toBe('pass');
    } finally {
      domain = { ...domain, dkimValue: published };
    }
  });
});
