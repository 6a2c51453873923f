// Per-channel opt-in and opt-out mailings, and the public signup page /p/subscribe/{account}/{channel}:
// mails go through the delivery engine into the capture inbox and their links are followed over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser, type ParsedMail } from 'mailparser';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { confirmByPage } from '../helpers/public-pages.ts';

describe(`channel opt-in and opt-out mailings, signup page (${dialectName})`, () => {
  let server: TestServer;
  let seq = 0;
  const nextEmail = (tag: string) => `${tag}${++seq}.${Date.now()}@example.org`;

  // The signup limit counts per client address: behind a (pretend) proxy, X-Forwarded-For names it.
  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_TRUST_PROXY: 'true' });
  });
  afterAll(async () => server?.close());

  const created = async (path: string, body: unknown) => {
    const res = await server.api.post(path, body);
    expect(res.status, res.text).toBe(201);
    return res.body.data;
  };
  const mailing = (type: string, subject: string, html: string, text = '') =>
    created('/api/v1/mailings', {
      name: `${type} ${subject}`,
      type,
      subject,
      html,
      ...(text ? { text } : {}),
      senderEmail: 'hello@example.com',
    });

  /** Every captured mail to the recipient, oldest first, parsed. */
  async function mails(recipient: string, count: number): Promise<ParsedMail[]> {
    const messages = await waitFor(
      async () => {
        const res = await server.api.get(`/v1/messages?recipient=${encodeURIComponent(recipient)}&size=100`);
        const data = (res.body.data as any[]).filter((m) => m.status === 'captured');
        return data.length >= count ? data.reverse() : null;
      },
      10_000,
      `${count} mail(s) to ${recipient}`,
    );
    return Promise.all(
      messages.map(async (m) => simpleParser((await server.api.get(`/v1/messages/${m.id}/raw`)).text)),
    );
  }
  const messageCount = async (recipient: string) =>
    (await server.api.get(`/v1/messages?recipient=${encodeURIComponent(recipient)}`)).body.count as number;

  const pathOf = (url: string) => new URL(url).pathname;
  const linkIn = (mail: ParsedMail, page: string) => {
    const m = new RegExp(`https?://[^\\s"<>]+/p/${page}/[A-Za-z0-9_-]+`).exec(mail.text ?? '');
    expect(m, `${page} link`).not.toBeNull();
    return pathOf(m![0]);
  };
  const page = async (method: 'GET' | 'POST', path: string, form?: Record<string, string>, headers = {}) => {
    const res = await fetch(server.url + path, {
      method,
      headers: form ? { 'content-type': 'application/x-www-form-urlencoded', ...headers } : headers,
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  const subscriberByEmail = async (email: string) =>
    (await server.api.get(`/api/v1/subscribers?search=${encodeURIComponent(JSON.stringify([{ email }]))}`)).body
      .data[0];

  describe('channels name their mailings', () => {
    it('checks the mailings a channel names and shows them', async () => {
      const optIn = await mailing('optIn', 'Confirm {{ channelName }}', '<a href="{{ confirmUrl }}">Yes</a>');
      const optOut = await mailing('optOut', 'Bye', '<p>Bye {{ firstname }}</p>');
      const standard = await mailing('standard', 'News', '<p>News</p>');
      const noLink = await mailing('optIn', 'No link', '<p>Welcome</p>');

      const bad = async (body: Record<string, unknown>, field: string, message: string) => {
        const res = await server.api.post('/api/v1/channels', { name: 'C', ...body });
        expect(res.status, res.text).toBe(422);
        expect(res.body.errors).toEqual({ [field]: [message] });
        expect(res.body.message).toBe(message);
      };
      await bad(
        { optInMailingId: standard.id },
        'optInMailingId',
        'The selected optInMailingId is invalid: it must name a mailing of type optIn.',
      );
      await bad(
        { optOutMailingId: optIn.id },
        'optOutMailingId',
        'The selected optOutMailingId is invalid: it must name a mailing of type optOut.',
      );
      await bad(
        { optInMailingId: 999999 },
        'optInMailingId',
        'The selected optInMailingId is invalid: it must name a mailing of type optIn.',
      );
      await bad(
        { optInMailingId: noLink.id },
        'optInMailingId',
        'The optInMailingId mailing must contain the confirmation link {{ confirmUrl }}.',
      );
      // Another account's mailing is not one.
      const other = await server.newAccount();
      expect((await other.api.post('/api/v1/channels', { name: 'Theirs', optInMailingId: optIn.id })).status).toBe(422);

      const channel = await created('/api/v1/channels', {
        name: 'Own mails',
        optInMailingId: optIn.id,
        optOutMailingId: optOut.id,
      });
      expect(channel).toMatchObject({ optInMailingId: optIn.id, optOutMailingId: optOut.id });
      const plain = await created('/api/v1/channels', { name: 'Built-in' });
      expect(plain).toMatchObject({ optInMailingId: null, optOutMailingId: null });
      const cleared = await server.api.put(`/api/v1/channels/${channel.id}`, { optOutMailingId: null });
      expect(cleared.body.data).toMatchObject({ optInMailingId: optIn.id, optOutMailingId: null });
    });

    it("sends the channel's own opt-in mailing, whose confirm link confirms", async () => {
      const optIn = await mailing(
        'optIn',
        'Please confirm {{ channelName }}, {{ firstname }}',
        '<p>Hi {{ firstname }} ({{ email }})</p><a href="{{ confirmUrl }}">Confirm</a>',
        'Confirm here: {{ confirmUrl }}',
      );
      const channel = await created('/api/v1/channels', {
        name: 'Gazette',
        senderEmail: 'gazette@example.com',
        optInMailingId: optIn.id,
      });
      const email = nextEmail('own-optin');
      await created('/api/v1/subscribers', { email, firstname: 'Ada', channels: [channel.id], sendOptIn: true });
      const [mail] = await mails(email, 1);
      expect(mail!.subject).toBe('Please confirm Gazette, Ada');
      expect(mail!.from?.value[0]?.address).toBe('hello@example.com'); // the mailing's sender
      expect(mail!.html).toContain(`<p>Hi Ada (${email})</p>`);
      const confirmed = await confirmByPage(server.url, linkIn(mail!, 'confirm'));
      expect(confirmed.status).toBe(200);
      expect(await subscriberByEmail(email)).toMatchObject({ status: 1, channels: [channel.id] });
    });

    it('keeps the built-in opt-in mail for channels without one', async () => {
      const channel = await created('/api/v1/channels', { name: 'Plain', languageIso: 'en' });
      const email = nextEmail('builtin');
      await created('/api/v1/subscribers', { email, channels: [channel.id], sendOptIn: true });
      const [mail] = await mails(email, 1);
      expect(mail!.subject).toBe('Plain: Please confirm your subscription');
    });

    it('sends the goodbye mailing after an unsubscribe from the channel, by link or by the API', async () => {
      const optOut = await mailing('optOut', 'Goodbye from {{ channelName }}', '<p>Bye {{ firstname }}</p>', 'Bye');
      const channel = await created('/api/v1/channels', { name: 'Farewell', optOutMailingId: optOut.id });
      const silent = await created('/api/v1/channels', { name: 'Silent' });

      // By the link in a mail: the unsubscribe page's POST.
      const email = nextEmail('bye-link');
      await created('/api/v1/subscribers', { email, firstname: 'Bea', channels: [channel.id], sendOptIn: true });
      const [optInMail] = await mails(email, 1);
      await confirmByPage(server.url, linkIn(optInMail!, 'confirm'));
      const unsubscribePath = pathOf(
        /^<(.+)>$/.exec(
          String(optInMail!.headerLines.find((h) => h.key === 'list-unsubscribe')?.line.split(': ')[1]),
        )![1]!,
      );
      expect((await page('POST', unsubscribePath, { 'List-Unsubscribe': 'One-Click' })).status).toBe(200);
      const [, goodbye] = await mails(email, 2);
      expect(goodbye!.subject).toBe('Goodbye from Farewell');
      expect(goodbye!.html).toContain('<p>Bye Bea</p>');
      // Pressing the button again is no second unsubscribe, and no second goodbye.
      await page('POST', unsubscribePath, { 'List-Unsubscribe': 'One-Click' });
      await new Promise((r) => setTimeout(r, 300));
      expect(await messageCount(email)).toBe(2);

      // By the API, from that channel.
      const viaApi = nextEmail('bye-api');
      const s = await created('/api/v1/subscribers', { email: viaApi, channels: [channel.id, silent.id] });
      const res = await server.api.post(`/api/v1/subscribers/${s.id}/unsubscribe`, { channelId: channel.id });
      expect(res.status, res.text).toBe(200);
      const [bye] = await mails(viaApi, 1);
      expect(bye!.subject).toBe('Goodbye from Farewell');

      // A channel without a goodbye mailing sends none.
      const quiet = nextEmail('bye-none');
      const q = await created('/api/v1/subscribers', { email: quiet, channels: [silent.id] });
      await server.api.post(`/api/v1/subscribers/${q.id}/unsubscribe`, { channelId: silent.id });
      await new Promise((r) => setTimeout(r, 300));
      expect(await messageCount(quiet)).toBe(0);
    });
  });

  describe('the signup page', () => {
    let channelId: number;
    let path: string;
    beforeAll(async () => {
      const channel = await created('/api/v1/channels', { name: 'Signup Weekly', languageIso: 'en', color: '#336699' });
      channelId = channel.id;
      path = `/p/subscribe/${server.accountId}/${channelId}`;
    });

    const tokenOf = (html: string) => /name="token" value="([^"]+)"/.exec(html)![1]!;
    const freshToken = async () => tokenOf((await page('GET', path)).text);
    /** Each POST from its own client address, so the per-IP limit only bites where a test wants it. */
    let ip = 10;
    const post = async (form: Record<string, string>, headers: Record<string, string> = {}) =>
      page('POST', path, form, { 'x-forwarded-for': `198.51.100.${ip++}`, ...headers });

    it('shows a form without JavaScript, with a form token, in the channel’s language and colours', async () => {
      const res = await page('GET', path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.text).not.toMatch(/<script/i);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.text).toContain('Signup Weekly');
      expect(res.text).toContain('<html lang="en">');
      expect(res.text).toContain('#336699');
      expect(res.text).toMatch(new RegExp(`<form method="post" action="${path}">`));
      expect(tokenOf(res.text)).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    });

    it('signs up by double opt-in: pending, a confirmation mail, confirmed by its link', async () => {
      const email = nextEmail('form');
      const res = await post({ email, firstname: 'Fay', lastname: 'Form', token: await freshToken() });
      expect(res.status).toBe(200);
      expect(res.text).toContain('Please check your inbox');
      expect(await subscriberByEmail(email)).toMatchObject({
        status: 2,
        statusAddition: 1,
        firstname: 'Fay',
        lastname: 'Form',
        reference: 'signup page',
        optInSent: true,
      });
      const [mail] = await mails(email, 1);
      expect(mail!.subject).toBe('Signup Weekly: Please confirm your subscription');
      await confirmByPage(server.url, linkIn(mail!, 'confirm'));
      expect(await subscriberByEmail(email)).toMatchObject({ status: 1, channels: [channelId] });
    });

    it('asks an address already on the list to confirm the new channel', async () => {
      const email = nextEmail('known');
      const other = await created('/api/v1/channels', { name: 'Other' });
      await created('/api/v1/subscribers', { email, channels: [other.id] });
      expect((await post({ email, token: await freshToken() })).status).toBe(200);
      expect(await subscriberByEmail(email)).toMatchObject({ status: 1, channels: [other.id] });
      const [mail] = await mails(email, 1);
      const confirmed = await confirmByPage(server.url, linkIn(mail!, 'confirm'));
      expect(confirmed.text).toContain('Your subscription is confirmed');
      expect((await subscriberByEmail(email)).channels.sort()).toEqual([other.id, channelId].sort());
      // Already in the channel: nothing more is sent.
      await post({ email, token: await freshToken() });
      await new Promise((r) => setTimeout(r, 300));
      expect(await messageCount(email)).toBe(1);
    });

    it('refuses a POST without a valid form token, or from another site (CSRF)', async () => {
      const email = nextEmail('csrf');
      const noToken = await post({ email });
      expect(noToken.status).toBe(400);
      expect(noToken.text).toContain('The form was open for too long');
      const forged = await post({ email, token: `${Date.now().toString(36)}.${'A'.repeat(43)}` });
      expect(forged.status).toBe(400);
      // A token for another channel's form is not this form's.
      const otherForm = await page(
        'GET',
        `/p/subscribe/${server.accountId}/${(await created('/api/v1/channels', { name: 'X' })).id}`,
      );
      expect((await post({ email, token: tokenOf(otherForm.text) })).status).toBe(400);
      const crossSite = await post({ email, token: await freshToken() }, { 'sec-fetch-site': 'cross-site' });
      expect(crossSite.status).toBe(403);
      const foreignOrigin = await post({ email, token: await freshToken() }, { origin: 'https://evil.example' });
      expect(foreignOrigin.status).toBe(403);
      expect(await subscriberByEmail(email)).toBeUndefined();
      expect(await messageCount(email)).toBe(0);
    });

    it('answers an invalid address with the form again, and a filled trap field with silence', async () => {
      const bad = await post({ email: 'not-an-address', firstname: 'Zed', token: await freshToken() });
      expect(bad.status).toBe(422);
      expect(bad.text).toContain('Please enter a valid email address.');
      expect(bad.text).toContain('value="Zed"');
      const bot = nextEmail('bot');
      const trapped = await post({ email: bot, website: 'http://spam.example', token: await freshToken() });
      expect(trapped.status).toBe(200);
      expect(await subscriberByEmail(bot)).toBeUndefined();
    });

    it('limits signups per client address', async () => {
      const client = { 'x-forwarded-for': '203.0.113.7' };
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++)
        statuses.push(
          (await page('POST', path, { email: nextEmail('flood'), token: await freshToken() }, client)).status,
        );
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses.slice(5)).toEqual([429, 429]);
    });

    it('shows the friendly 404 page for an unknown account or channel', async () => {
      for (const p of [
        `/p/subscribe/${server.accountId}/999999`,
        '/p/subscribe/nope/1',
        `/p/subscribe/${server.accountId}/abc`,
      ]) {
        const res = await page('GET', p);
        expect(res.status, p).toBe(404);
        expect(res.text).toContain('<html');
      }
      const other = await server.newAccount();
      expect((await page('GET', `/p/subscribe/${other.accountId}/${channelId}`)).status).toBe(404);
    });
  });
});
