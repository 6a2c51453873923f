// Mailings end to end: a mailing to three overlapping groups (one dynamic) of a channel goes
// through the real worker and relay to an SMTP sink. Each eligible subscriber gets exactly one
// personalized message with the bulk headers; suppressed, blacklisted, archived, not-ready and
// off-channel subscribers get none; the unsubscribe and web-view links work over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type ApiClient, type TestServer } from '../helpers/server.ts';
import { startRelayedServer } from '../helpers/relay-server.ts';
import type { SmtpSink } from '../helpers/smtp-sink.ts';
import { dialectName } from '../helpers/database.ts';
import { bulkSubscribers, expectError, expectNotFound, expectValidation } from '../helpers/marketing-fixtures.ts';
import { addSuppression } from '../../src/store/suppressions.ts';

const N = 300;

describe(`mailings (${dialectName})`, () => {
  let server: TestServer;
  let sink: SmtpSink;
  let api: ApiClient;
  beforeAll(async () => {
    ({ server, sink } = await startRelayedServer());
    api = server.api;
  });
  afterAll(async () => {
    await server?.close();
    await sink?.close();
  });

  const created = async (path: string, body: unknown) => {
    const res = await api.post(path, body);
    expect(res.status, res.text).toBe(201);
    return res.body.data;
  };
  /** A link from a mail, pointed at this test server (PUBLIC_URL is not the random port). */
  const local = (link: string) => server.url + new URL(link).pathname;
  const mailingStatus = async (id: number) => (await api.get(`/api/v1/mailings/${id}`)).body.data.status as string;

  it(
    'sends each eligible subscriber of three overlapping groups exactly one personalized message',
    { timeout: 120_000 },
    async () => {
      const channel = await created('/api/v1/channels', {
        name: 'Weekly News',
        senderEmail: 'news@example.com',
        senderName: 'The Paper',
      });
      const other = await created('/api/v1/channels', { name: 'Other' });
      const field = await created('/api/v1/customerFields', {
        fieldType: 1,
        type: 1,
        translations: { en: { name: 'favourite' }, de: { name: 'liebling' } },
      });

      // i: 0..299. Groups: A static 0..149, B static 100..249, C dynamic city = Berlin (i % 3 == 0, incl. 250..299).
      const items = Array.from({ length: N }, (_, i) => ({
        email: `s${i}@example.org`,
        firstname: `First${i}`,
        lastname: `Last${i}`,
        city: i % 3 === 0 ? 'Berlin' : 'Hamburg',
        customerFields: { [field.id]: `colour-${i}` },
        channels: i % 50 === 7 ? [other.id] : [channel.id], // a few are not in the mailing's channel
        ...(i % 40 === 11 ? { status: 2 } : {}), // not ready (opt-in pending)
        ...(i % 40 === 13 ? { status: 3, statusAddition: 3 } : {}), // archived
      }));
      const ids: number[] = [];
      for (let i = 0; i < N; i += 100) ids.push(...(await bulkSubscribers(api, items.slice(i, i + 100))));
      const a = await created('/api/v1/subscriberGroups', { name: 'A', type: 1 });
      const b = await created('/api/v1/subscriberGroups', { name: 'B', type: 1 });
      const c = await created('/api/v1/subscriberGroups', {
        name: 'Berliners',
        type: 2,
        conditions: [{ city: 'Berlin' }],
      });
      expect(
        (await api.post(`/api/v1/subscriberGroups/${a.id}/subscribers`, { subscriberIds: ids.slice(0, 150) })).status,
      ).toBe(200);
      expect(
        (await api.post(`/api/v1/subscriberGroups/${b.id}/subscribers`, { subscriberIds: ids.slice(100, 250) })).status,
      ).toBe(200);
      // Suppressed (a hard bounce earlier) and blacklisted (exact address and a whole domain).
      const suppressedIdx = [5, 120, 255];
      for (const i of suppressedIdx)
        await addSuppression(
          server.app.ctx.db,
          server.accountId,
          `s${i}@example.org`,
          'bounce',
          'earlier hard bounce',
          Date.now(),
        );
      expect((await api.post('/api/v1/blacklist', { pattern: 's8@example.org' })).status, 'blacklist').toBeLessThan(
        300,
      );
      // Someone of group A on a blacklisted domain: never sent to.
      const [blockedDomainId] = await bulkSubscribers(api, [
        { email: 'x@blocked.test', firstname: 'Blocked', channels: [channel.id] },
      ]);
      expect(
        (await api.post(`/api/v1/subscriberGroups/${a.id}/subscribers`, { subscriberIds: [blockedDomainId] })).status,
      ).toBe(200);
      expect((await api.post('/api/v1/blacklist', { pattern: '*@blocked.test' })).status).toBeLessThan(300);

      const eligible = items
        .map((s, i) => ({ ...s, i, id: ids[i]! }))
        .filter(
          ({ i }) =>
            (i < 250 || i % 3 === 0) &&
            i % 50 !== 7 &&
            i % 40 !== 11 &&
            i % 40 !== 13 &&
            !suppressedIdx.includes(i) &&
            i !== 8,
        );
      expect(eligible.length).toBeGreaterThan(200);

      const mailing = await created('/api/v1/mailings', {
        name: 'June issue',
        channelId: channel.id,
        subscriberGroupIds: [a.id, b.id, c.id],
        senderEmail: 'news@example.com',
        senderName: 'The Paper',
        subject: 'Hello {{ firstname }}',
        preheader: 'Your {{ customerFields.favourite }} news',
        html:
          '<html><body><p>Dear {{ firstname }} {{ lastname }}, you like {{ customerFields.liebling }} ({{ customerFields["' +
          field.id +
          '"] }}).</p><a href="{{ webViewUrl }}">web</a> <a href="{{ unsubscribeUrl }}">unsubscribe</a> <a href="{{ preferencesUrl }}">prefs</a></body></html>',
      });
      expect(mailing).toMatchObject({
        objectType: 'Mailing',
        status: 'draft',
        subscriberGroupIds: [a.id, b.id, c.id],
        tracking: { opens: false, clicks: false },
      });

      const sent = await api.post(`/api/v1/mailings/${mailing.id}/send`);
      expect(sent.status, sent.text).toBe(200);
      expect(sent.body.data.status).toBe('sending');
      expectError(
        await api.post(`/api/v1/mailings/${mailing.id}/send`),
        409,
        1024,
        [],
        expect.stringContaining('sending'),
      );
      expectError(await api.put(`/api/v1/mailings/${mailing.id}`, { name: 'x' }), 423, 1025, [], expect.any(String));

      await sink.waitForCount(eligible.length, 60_000);
      await waitFor(async () => (await mailingStatus(mailing.id)) === 'sent', 30_000, 'the mailing to be sent');
      await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive now
      const received = sink.messages.filter((m) => m.parsed.subject?.startsWith('Hello'));
      expect(received.length).toBe(eligible.length);
      const byRecipient = new Map(received.map((m) => [m.to[0]!, m]));
      expect(byRecipient.size).toBe(eligible.length);
      expect([...byRecipient.keys()].sort()).toEqual(eligible.map((s) => s.email).sort());
      expect(new Set(received.map((m) => m.messageId)).size).toBe(eligible.length);

      const one = eligible.find((s) => s.i === 102)!; // in A, B and C at once
      const msg = byRecipient.get(one.email)!;
      expect(msg.parsed.subject).toBe('Hello First102');
      expect(msg.parsed.html).toContain('Dear First102 Last102, you like colour-102 (colour-102).');
      expect(msg.parsed.html).toContain('Your colour-102 news');
      const header = (name: string) =>
        (msg.parsed.headerLines.find((h) => h.key === name)?.line ?? '').replace(/\r?\n[ \t]+/g, ' ');
      expect(header('list-unsubscribe')).toMatch(
        /<http[^>]+\/p\/unsubscribe\/[A-Za-z0-9_-]+>, <mailto:unsubscribe\+[^>]+>/,
      );
      expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      expect(header('list-id')).toContain(`Weekly News <channel-${channel.id}.`);
      expect(header('precedence')).toBe('Precedence: bulk');
      expect(header('feedback-id')).toContain(`mailing-${mailing.id}:`);
      expect(msg.parsed.from?.value[0]).toMatchObject({ address: 'news@example.com', name: 'The Paper' });

      // The recipients list: one row per eligible subscriber, all delivered.
      const recipients = await api.get(`/api/v1/mailings/${mailing.id}/recipients?limit=1000`);
      expect(recipients.status, recipients.text).toBe(200);
      expect(recipients.body.meta.pagination.total).toBe(eligible.length);
      expect(
        recipients.body.data.every((r: any) => r.status === 'delivered' && r.objectType === 'MailingRecipient'),
      ).toBe(true);
      expect(new Set(recipients.body.data.map((r: any) => r.subscriberId))).toEqual(new Set(eligible.map((s) => s.id)));
      const done = (await api.get(`/api/v1/mailings/${mailing.id}`)).body.data;
      expect(done).toMatchObject({ status: 'sent', recipientCount: eligible.length, sentAt: expect.any(String) });

      // The web version shows the subscriber's own mail.
      const links = [...String(msg.parsed.html).matchAll(/href="([^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
      const view = await fetch(local(links[0]!));
      expect(view.status).toBe(200);
      expect(view.headers.get('content-security-policy')).toContain('sandbox');
      expect(await view.text()).toContain('Dear First102 Last102');
      const forged = await fetch(local(links[0]!).slice(0, -3) + 'AAA');
      expect(forged.status).toBe(404);
      // One-click unsubscribe (RFC 8058) from the header's https link archives the subscriber.
      const unsubscribeLink = /<(http[^>]+)>/.exec(header('list-unsubscribe'))![1]!;
      const unsubscribed = await fetch(local(unsubscribeLink), {
        method: 'POST',
        body: 'List-Unsubscribe=One-Click',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(unsubscribed.status).toBe(200);
      const after = (await api.get(`/api/v1/subscribers/${one.id}`)).body.data;
      expect(after.channels).not.toContain(channel.id);
      expect(after.status).toBe(3);
      expect((await fetch(local(links[2]!))).status).toBe(200); // preferences page
    },
  );

  it('refuses changes outside draft/scheduled, checks fields, and hides other accounts’ mailings', async () => {
    const m = await created('/api/v1/mailings', { name: 'Checks', subject: 'Hi', html: '<p>x</p>' });
    expectValidation(await api.post('/api/v1/mailings', { name: 'Bad', html: '{% if %}' }), {
      html: [expect.stringContaining('not a valid template')],
    });
    expectValidation(await api.post('/api/v1/mailings', { name: 'Bad', subscriberGroupIds: [999999] }), {
      subscriberGroupIds: [expect.stringContaining('999999')],
    });
    // No sender anywhere: cannot be sent.
    expectValidation(await api.post(`/api/v1/mailings/${m.id}/send`), {
      senderEmail: [expect.stringContaining('senderEmail')],
    });
    const updated = await api.put(`/api/v1/mailings/${m.id}`, {
      senderEmail: 'me@example.com',
      tracking: { opens: true },
    });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body.data).toMatchObject({
      senderEmail: 'me@example.com',
      tracking: { opens: true, clicks: false },
      name: 'Checks',
    });

    const scheduled = await api.post(`/api/v1/mailings/${m.id}/schedule`, { scheduledAt: '2099-01-01 10:00:00' });
    expect(scheduled.status, scheduled.text).toBe(200);
    expect(scheduled.body.data).toMatchObject({ status: 'scheduled', scheduledAt: '2099-01-01 10:00:00' });
    expectValidation(await api.post(`/api/v1/mailings/${m.id}/schedule`, { scheduledAt: 'tomorrow' }), {
      scheduledAt: [expect.any(String)],
    });
    expectError(await api.post(`/api/v1/mailings/${m.id}/pause`), 409, 1024, [], expect.any(String));
    const cancelled = await api.post(`/api/v1/mailings/${m.id}/cancel`);
    expect(cancelled.body.data.status).toBe('cancelled');
    expectError(await api.delete(`/api/v1/mailings/${m.id}`), 423, 1025, [], expect.any(String));

    const draft = await created('/api/v1/mailings', { name: 'Gone' });
    expect((await api.delete(`/api/v1/mailings/${draft.id}`)).status).toBe(204);
    expectNotFound(await api.get(`/api/v1/mailings/${draft.id}`), 'Mailing not found');

    const stranger = await server.newAccount();
    expectNotFound(await stranger.api.get(`/api/v1/mailings/${m.id}`), 'Mailing not found');
    expectNotFound(await stranger.api.post(`/api/v1/mailings/${m.id}/send`), 'Mailing not found');
    const list = await api.get(
      '/api/v1/mailings?search=' + encodeURIComponent(JSON.stringify([{ status: 'cancelled' }])),
    );
    expect(list.status, list.text).toBe(200);
    expect(list.body.data.map((x: any) => x.id)).toContain(m.id);
    expect((await stranger.api.get('/api/v1/mailings')).body.data).toEqual([]);
  });

  it(
    'previews for one subscriber and sends marked test messages that are not recipients',
    { timeout: 30_000 },
    async () => {
      const [sid] = await bulkSubscribers(api, [{ email: 'preview@example.org', firstname: 'Petra' }]);
      const m = await created('/api/v1/mailings', {
        name: 'Preview',
        subject: 'For {{ firstname }}',
        html: '<p>Hi {{ firstname }}</p>',
        senderEmail: 'news@example.com',
      });
      const preview = await api.get(`/api/v1/mailings/${m.id}/preview?subscriberId=${sid}`);
      expect(preview.status, preview.text).toBe(200);
      expect(preview.body.data).toMatchObject({
        objectType: 'MailingPreview',
        subject: 'For Petra',
        html: '<p>Hi Petra</p>',
        subscriberId: sid,
      });
      expectNotFound(await api.get(`/api/v1/mailings/${m.id}/preview?subscriberId=99999999`), 'Subscriber not found');

      const before = sink.messages.length;
      const test = await api.post(`/api/v1/mailings/${m.id}/test`, {
        emails: ['preview@example.org', 'colleague@example.net'],
      });
      expect(test.status, test.text).toBe(200);
      expect(test.body.data.messages).toHaveLength(2);
      const got = (await sink.waitForCount(before + 2, 15_000)).slice(before);
      expect(got.map((x) => x.parsed.subject).sort()).toEqual(['[Test] For', '[Test] For Petra']);
      expect((await api.get(`/api/v1/mailings/${m.id}`)).body.data).toMatchObject({
        status: 'draft',
        recipientCount: 0,
      });
      const none = await api.get(`/api/v1/mailings/${m.id}/recipients`);
      expect(none.status, none.text).toBe(200);
      expect(none.body.meta.pagination.total).toBe(0);
    },
  );
});
