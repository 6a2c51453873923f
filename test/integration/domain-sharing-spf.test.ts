// Sending domains beyond the basics: sharing with sub-accounts (PUT …/share), the domains whose SPF
// is missing, and the SPF suggestion that merges the domain's record with ours within 10 lookups,
// every include followed through the configured resolver (the test DNS server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { dialectName } from '../helpers/database.ts';
import { newId } from '../../src/domain/ids.ts';
import { insertAccount } from '../../src/store/accounts.ts';
import { createApiKey } from '../../src/services/api-keys.ts';

const OURS = '_spf.posthorn.example.net';

describe(`sending domains: sharing and SPF (${dialectName})`, () => {
  let dns: DnsTestServer;
  let sink: SmtpSink;
  let server: TestServer;

  beforeAll(async () => {
    dns = await startDnsServer();
    sink = await startSmtpSink();
    server = await startTestServer({
      POSTHORN_DELIVERY: 'relay',
      POSTHORN_RELAYS: sink.url,
      POSTHORN_DNS_SERVERS: dns.address,
      POSTHORN_SPF_INCLUDE: OURS,
    });
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
    await dns?.close();
  });

  /** A sub-account with an all-permissions key (made in the store: the sub-account API is another helper's). */
  async function subAccount(parentId = server.accountId): Promise<{ accountId: string; api: ApiClient }> {
    const id = newId();
    await insertAccount(server.app.ctx.db, {
      id,
      name: `Sub ${id}`,
      parent_id: parentId,
      status: 'Active',
      created_at: Date.now(),
    });
    const { key } = await createApiKey(server.app.ctx, { accountId: id, name: 'sub' });
    return { accountId: id, api: new ApiClient(server.url, key) };
  }

  const add = async (api: ApiClient, domain: string, extra: Record<string, unknown> = {}) => {
    const res = await api.post('/v1/domain/sending', { domain, ...extra });
    expect(res.status, res.text).toBe(201);
    return res.body;
  };
  const publish = (d: any) => {
    dns.setTxt(d.spfHostname, d.spfValue);
    dns.setTxt(d.dkimHostname, d.dkimValue);
  };
  const send = (api: ApiClient, from: string) =>
    api.post('/v1/layang/transmissions', {
      from: { email: from },
      to: [{ email: 'customer@receiver.test' }],
      subject: 'Shared',
      bodyText: 'Hello',
    });

  describe('sharing', () => {
    it('lets every sub-account send from a shared, verified domain of its parent, DKIM-signed', async () => {
      const d = await add(server.api, 'shared.example.com');
      publish(d);
      expect((await server.api.put(`/v1/domain/sending/${d.id}/verify-txt`)).body[0].status).toEqual(['Verified']);
      const sub = await subAccount();
      const sibling = await subAccount();

      // Not shared yet: the sub-account may neither see nor use it.
      expect((await send(sub.api, 'news@shared.example.com')).body.errors[0].code).toBe('1403');
      expect((await sub.api.get(`/v1/domain/sending/${d.id}`)).status).toBe(404);

      const shared = await server.api.put(`/v1/domain/sending/${d.id}/share`);
      expect(shared.status).toBe(200);
      expect(shared.body).toMatchObject({ id: d.id, assignment: 'ALL', status: ['Verified'], fromParent: false });
      expect((await server.api.put(`/v1/domain/sending/${d.id}/share`)).status).toBe(200); // again: no change

      for (const s of [sub, sibling]) {
        const seen = await s.api.get(`/v1/domain/sending/${d.id}`);
        expect(seen.body).toMatchObject({ assignment: 'ALL', status: ['Verified'], fromParent: true });
        const list = (await s.api.get('/v1/domain/sending')).body[0];
        expect(list.sendingDomain.map((x: any) => [x.id, x.fromParent])).toEqual([[d.id, true]]);
        // Read-only for them.
        for (const [method, path] of [
          ['DELETE', `/v1/domain/sending/${d.id}`],
          ['PUT', `/v1/domain/sending/${d.id}/verify-txt`],
          ['PUT', `/v1/domain/sending/${d.id}/share`],
        ] as const) {
          const res = await s.api.request(method, path);
          expect(res.status, `${method} ${path}`).toBe(403);
        }
      }

      const sent = await send(sub.api, 'news@shared.example.com');
      expect(sent.status, sent.text).toBe(200);
      const [message] = await waitForTransmission(sub.api, sent.body.transmissionId);
      expect(message.status).toBe('delivered');
      const received = sink.messages.find((m) => m.parsed.subject === 'Shared');
      expect(received?.raw.toString()).toMatch(
        new RegExp(`DKIM-Signature:[^]*d=shared\\.example\\.com;[^]*s=${d.dkimSelector}`),
      );
    });

    it("shares with the owner's sub-accounts only, and only an account without a parent shares", async () => {
      const d = await add(server.api, 'mine-only.example.com', { assignment: 'all' });
      expect(d.assignment).toBe('ALL');
      publish(d);
      await server.api.put(`/v1/domain/sending/${d.id}/verify-txt`);
      const stranger = await server.newAccount();
      const strangersSub = await subAccount(stranger.accountId);
      expect((await strangersSub.api.get(`/v1/domain/sending/${d.id}`)).status).toBe(404);
      expect((await send(strangersSub.api, 'x@mine-only.example.com')).body.errors[0].code).toBe('1403');

      const sub = await subAccount();
      const own = await add(sub.api, 'sub-own.example.com');
      const refused = await sub.api.put(`/v1/domain/sending/${own.id}/share`);
      expect(refused.status).toBe(422);
      expect(refused.body.errors[0].description).toContain('sub-account');
      expect((await sub.api.post('/v1/domain/sending', { domain: 'x.example.com', assignment: 'ALL' })).status).toBe(
        422,
      );
      expect(
        (await server.api.post('/v1/domain/sending', { domain: 'y.example.com', assignment: 'SOME' })).status,
      ).toBe(422);
    });
  });

  it('lists the domains whose SPF record was not found', async () => {
    const other = await server.newAccount();
    const a = await add(other.api, 'spf-missing.example.com');
    const b = await add(other.api, 'spf-present.example.com');
    dns.setTxt(b.spfHostname, `v=spf1 include:${OURS} -all`);
    await other.api.put(`/v1/domain/sending/${b.id}/verify-txt`);
    const res = await other.api.get('/v1/domain/sending/unverified-spf');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ count: 1, data: [{ id: a.id, name: 'spf-missing.example.com' }] });
  });

  describe('spf-suggestion', () => {
    let api: ApiClient;
    beforeAll(async () => {
      api = (await server.newAccount()).api;
    });
    const suggest = async (domain: string, ...records: string[]) => {
      const d = await add(api, domain);
      if (records.length) dns.setTxt(domain, 'google-site-verification=abc', ...records);
      const res = await api.get(`/v1/domain/sending/${d.id}/spf-suggestion`);
      expect(res.status, res.text).toBe(200);
      return res.body as { suggestion: string; spfRecords: string[]; note: string };
    };

    it('suggests our record for a domain without one', async () => {
      const s = await suggest('no-spf.example.com');
      expect(s.suggestion).toBe(`v=spf1 include:${OURS} ~all`);
      expect(s.spfRecords).toEqual([]);
      expect(s.note).toContain('No SPF record was found');
    });

    it('merges ours before the all of the existing record, keeping its qualifier', async () => {
      dns.setTxt('_spf.mailer.example', 'v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all');
      const s = await suggest('merge.example.com', 'v=spf1 mx include:_spf.mailer.example -all');
      expect(s.suggestion).toBe(`v=spf1 mx include:_spf.mailer.example include:${OURS} -all`);
      expect(s.spfRecords).toEqual(['v=spf1 mx include:_spf.mailer.example -all']);
      expect(s.note).toContain('needs 3 of the 10 DNS lookups');
    });

    it('changes nothing when ours is already there', async () => {
      const s = await suggest('has-ours.example.com', `v=spf1 include:${OURS} ~all`);
      expect(s.suggestion).toBe(`v=spf1 include:${OURS} ~all`);
      expect(s.note).toContain('already includes');
    });

    it('merges two records into one', async () => {
      const s = await suggest('two.example.com', 'v=spf1 a -all', 'v=spf1 ip4:198.51.100.1 ~all');
      expect(s.suggestion).toBe(`v=spf1 a ip4:198.51.100.1 include:${OURS} -all`);
      expect(s.note).toContain('2 SPF records were found');
    });

    it('counts lookups through nested includes and flattens address-only includes to stay within 10', async () => {
      // _spf.big.example costs 1 + 6 nested includes of addresses = 7; with a, mx and ours: 10 + more.
      const leaves = Array.from({ length: 6 }, (_, i) => `_n${i}.big.example`);
      leaves.forEach((l, i) => dns.setTxt(l, `v=spf1 ip4:203.0.113.${i} -all`));
      dns.setTxt('_spf.big.example', `v=spf1 ${leaves.map((l) => `include:${l}`).join(' ')} ~all`);
      dns.setTxt('_spf.small.example', 'v=spf1 ip4:192.0.2.1 -all');
      dns.setTxt('_spf.dynamic.example', 'v=spf1 a:%{d}.example -all');
      const s = await suggest(
        'crowded.example.com',
        'v=spf1 a mx include:_spf.small.example include:_spf.big.example include:_spf.dynamic.example -all',
      );
      // Before: a, mx, small (1), big (7), dynamic (2) = 12, + ours (1) = 13 > 10. The most expensive
      // flattenable include (big, 7) is replaced by its addresses: 6 left.
      const expectedAddresses = leaves.map((_, i) => `ip4:203.0.113.${i}`).join(' ');
      expect(s.suggestion).toBe(
        `v=spf1 a mx include:_spf.small.example ${expectedAddresses} include:_spf.dynamic.example include:${OURS} -all`,
      );
      expect(s.note).toContain('needs 6 of the 10 DNS lookups');
      expect(s.note).toContain('include:_spf.big.example was replaced by the addresses');
      // Every include really was looked up through the configured resolver.
      for (const name of ['_spf.big.example', ...leaves, '_spf.dynamic.example'])
        expect(dns.queries, name).toContain(`TXT ${name}`);
    });

    it('says so, and suggests nothing, when no include can be flattened', async () => {
      const names = Array.from({ length: 10 }, (_, i) => `_d${i}.dyn.example`);
      names.forEach((n) => dns.setTxt(n, 'v=spf1 a -all'));
      const s = await suggest('hopeless.example.com', `v=spf1 ${names.map((n) => `include:${n}`).join(' ')} -all`);
      expect(s.suggestion).toBe('');
      expect(s.note).toContain('would need 21 DNS lookups');
    });

    it('counts a failing lookup as one and says so', async () => {
      dns.failing.add('_spf.broken.example');
      try {
        const s = await suggest('flaky-spf.example.com', 'v=spf1 include:_spf.broken.example -all');
        expect(s.suggestion).toBe(`v=spf1 include:_spf.broken.example include:${OURS} -all`);
        expect(s.note).toContain('The lookup of _spf.broken.example failed');
      } finally {
        dns.failing.delete('_spf.broken.example');
      }
    });
  });
});
