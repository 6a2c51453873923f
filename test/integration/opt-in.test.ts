// Double opt-in end to end: the opt-in mail goes through the delivery engine into the capture inbox,
// its links are followed over HTTP, and the subscriber's status changes as the pages say.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser, type ParsedMail } from 'mailparser';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { insertChannel } from '../helpers/marketing-rows.ts';

interface PageResponse {
  status: number;
  text: string;
  headers: Headers;
}

describe(`double opt-in, unsubscribe and preferences pages (${dialectName})`, () => {
  let server: TestServer;
  let channelDe: number;
  let channelHostile: number;
  let channelOther: number;
  let seq = 0;

  beforeAll(async () => {
    server = await startTestServer();
    channelDe = await createChannel({
      name: 'Wochenpost',
      color: '#aa0000',
      sender_email: 'news@example.com',
      sender_name: 'Die Wochenpost',
      language_iso: 'de',
    });
    channelHostile = await createChannel({
      name: '<script>alert(1)</script> & Co',
      color: 'red;}body{display:none',
      language_iso: 'en',
    });
    channelOther = await createChannel({ name: 'Angebote', language_iso: 'de' });
  });
  afterAll(async () => server?.close());

  const createChannel = (values: {
    name: string;
    color?: string;
    sender_email?: string;
    sender_name?: string;
    language_iso: string;
  }) => insertChannel(server.app.ctx.db, server.accountId, values);

  /** Created through the API with sendOptIn: pending (2/1) in the given channels, its opt-in mail sent. */
  async function signUp(input: {
    languageIso: string | null;
    firstname?: string;
    channels: number[];
  }): Promise<{ id: number; email: string }> {
    const email = `reader${++seq}.${Date.now()}@example.org`;
    const res = await server.api.post('/api/v1/subscribers', {
      email,
      ...(input.languageIso ? { languageIso: input.languageIso } : {}),
      ...(input.firstname ? { firstname: input.firstname } : {}),
      ...(input.channels.length ? { channels: input.channels } : {}),
      sendOptIn: true,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.data).toMatchObject({ email, status: 2, statusAddition: 1, optInConfirmedAt: null, optInIp: null });
    return { id: res.body.data.id, email };
  }

  /** The subscriber as the API shows it. */
  async function subscriber(id: number): Promise<Record<string, any>> {
    const res = await server.api.get(`/api/v1/subscribers/${id}`);
    expect(res.status).toBe(200);
    return res.body.data;
  }

  /** optInConfirmedAt to the millisecond (the API shows whole seconds). */
  async function confirmedAtMs(id: number): Promise<number | null> {
    const row = await server.app.ctx.db
      .selectFrom('subscribers')
      .select('opt_in_confirmed_at')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return row.opt_in_confirmed_at;
  }

  const apiDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');

  /** The opt-in mail from the capture inbox, parsed. */
  async function inbox(recipient: string): Promise<ParsedMail> {
    const message = await waitFor(
      async () => {
        const res = await server.api.get(`/v1/messages?recipient=${encodeURIComponent(recipient)}`);
        const m = res.body.data?.[0];
        return m && m.status === 'captured' ? m : null;
      },
      10_000,
      `opt-in mail to ${recipient}`,
    );
    const raw = await server.api.get(`/v1/messages/${message.id}/raw`);
    expect(raw.status).toBe(200);
    return simpleParser(raw.text);
  }

  function confirmLink(mail: ParsedMail): string {
    const m = /https?:\/\/[^\s"<>]+\/p\/confirm\/[A-Za-z0-9_-]+/.exec(mail.text ?? '');
    expect(m, 'confirm link in the text part').not.toBeNull();
    expect(mail.html).toContain(m![0]);
    return m![0];
  }

  /** A header exactly as written (unfolded); mailparser merges the List-* headers into one object. */
  function rawHeader(mail: ParsedMail, name: string): string | undefined {
    const line = mail.headerLines.find((h) => h.key === name.toLowerCase())?.line;
    return line
      ?.replace(/\r?\n[ \t]+/g, ' ')
      .slice(name.length + 1)
      .trim();
  }

  function unsubscribeLink(mail: ParsedMail): string {
    const m = /^<(https?:\/\/[^>]+\/p\/unsubscribe\/[A-Za-z0-9_-]+)>$/.exec(rawHeader(mail, 'List-Unsubscribe') ?? '');
    expect(m, 'List-Unsubscribe: <https URL>').not.toBeNull();
    return m![1]!;
  }

  /** PUBLIC_URL is the configured one (port 0 in tests): the path is asked of the real server. */
  async function visit(link: string, init: RequestInit = {}): Promise<PageResponse> {
    const url = new URL(link, 'http://placeholder');
    const res = await fetch(server.url + url.pathname, { redirect: 'manual', ...init });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  /** The signed form token (csrf.ts) of the page's form. */
  function formTokenIn(page: PageResponse): string {
    const m = /<input type="hidden" name="token" value="([^"]+)">/.exec(page.text);
    expect(m, 'form token on the page').not.toBeNull();
    return m![1]!;
  }

  /** Opens the confirm link (a page that asks) and presses its button (a POST of its form). */
  async function confirm(link: string): Promise<PageResponse> {
    const question = await visit(link);
    if (question.status !== 200 || !question.text.includes('<form method="post"')) return question;
    return visit(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: formTokenIn(question) }).toString(),
    });
  }

  function expectSafePage(page: PageResponse, lang: 'de' | 'en') {
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toMatch(new RegExp(`^<!DOCTYPE html>\\n<html lang="${lang}">`));
    expect(page.text).not.toMatch(/<script/i);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('script-src');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  }

  function linkIn(page: PageResponse, path: 'preferences' | 'unsubscribe'): string {
    const m = new RegExp(`href="(/p/${path}/[A-Za-z0-9_-]+)"`).exec(page.text);
    expect(m, `${path} link on the page`).not.toBeNull();
    return m![1]!;
  }

  it('sends a German opt-in mail through the delivery engine, and its link confirms over HTTP', async () => {
    const before = Date.now();
    const { id, email } = await signUp({ languageIso: 'de', firstname: 'Ada', channels: [channelDe] });
    const pending = await subscriber(id);
    expect(pending).toMatchObject({
      status: 2,
      statusAddition: 1,
      optInConfirmedAt: null,
      optInIp: null,
      channels: [channelDe],
    });
    expect(pending.optInSent).toBe(true);
    expect(pending.optInSentAt >= apiDate(before)).toBe(true);

    const mail = await inbox(email);
    expect(mail.subject).toBe('Wochenpost: Bitte bestätigen Sie Ihre Anmeldung');
    expect(mail.from?.value[0]).toEqual({ address: 'news@example.com', name: 'Die Wochenpost' });
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : null).toBe(email);
    expect(mail.text).toContain('Hallo Ada,');
    expect(mail.html).toContain('Anmeldung bestätigen');
    expect(mail.html).toContain('lang="de"');
    expect(rawHeader(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    expect(unsubscribeLink(mail)).toMatch(/^http:\/\/localhost:0\/p\/unsubscribe\//);
    const link = confirmLink(mail);
    expect(link).toMatch(/^http:\/\/localhost:0\/p\/confirm\/[A-Za-z0-9_-]{60,100}$/);

    // A scanner or prefetcher GETs the link: it sees a button, and nothing changes.
    const question = await visit(link);
    expect(question.status).toBe(200);
    expectSafePage(question, 'de');
    expect(question.text).toContain('Bitte bestätigen Sie Ihre Anmeldung für „Wochenpost“.');
    expect(question.text).toMatch(/<form method="post" action="\/p\/confirm\/[A-Za-z0-9_-]+">/);
    expect(question.text).toContain('<button type="submit">Anmeldung bestätigen</button>');
    expect(await subscriber(id)).toMatchObject({ status: 2, statusAddition: 1, optInIp: null });

    const page = await confirm(link);
    expect(page.status).toBe(200);
    expectSafePage(page, 'de');
    expect(page.text).toContain('Vielen Dank!');
    expect(page.text).toContain('Wochenpost');
    expect(page.text).toContain('--accent:#aa0000');
    const confirmed = await subscriber(id);
    expect(confirmed).toMatchObject({ status: 1, statusAddition: null, optInIp: '127.0.0.1', channels: [channelDe] });
    expect(confirmed.optInConfirmedAt >= apiDate(before)).toBe(true);
    const confirmedAt = await confirmedAtMs(id);
    expect(confirmedAt).toBeGreaterThanOrEqual(before);

    // Following the link again changes nothing and says so, without a button.
    const again = await visit(link);
    expect(again.text).not.toContain('<form');
    expect(again.status).toBe(200);
    expect(again.text).toContain('bereits bestätigt');
    expect(await confirmedAtMs(id)).toBe(confirmedAt);
    expect(await subscriber(id)).toMatchObject({ status: 1, statusAddition: null, optInIp: '127.0.0.1' });
  });

  it('writes the mail in English for other languages, from noreply@<PUBLIC_URL host> without a channel', async () => {
    const { id, email } = await signUp({ languageIso: 'en', channels: [] });
    const mail = await inbox(email);
    expect(mail.subject).toBe('Newsletter: Please confirm your subscription');
    expect(mail.from?.value[0]?.address).toBe('noreply@localhost');
    expect(mail.text).toContain('Hello,');
    expect(mail.html).toContain('Confirm subscription');
    const page = await confirm(confirmLink(mail));
    expect(page.status).toBe(200);
    expectSafePage(page, 'en');
    expect(page.text).toContain('Your subscription is confirmed.');
    expect(await subscriber(id)).toMatchObject({ status: 1, statusAddition: null, optInIp: '127.0.0.1' });
  });

  it('a signup through /subscribers/register gets the same mail, and its link confirms', async () => {
    const email = `signup.${Date.now()}@example.org`;
    const res = await server.api.post('/api/v1/subscribers/register', {
      email,
      channelId: channelOther,
      reference: 'footer form',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.data).toMatchObject({ status: 2, statusAddition: 1, channels: [channelOther] });
    const mail = await inbox(email);
    // No language of its own: the channel's (German) is used.
    expect(mail.subject).toBe('Angebote: Bitte bestätigen Sie Ihre Anmeldung');
    expect(mail.from?.value[0]).toEqual({ address: 'noreply@localhost', name: 'Angebote' });
    expect((await confirm(confirmLink(mail))).status).toBe(200);
    expect(await subscriber(res.body.data.id)).toMatchObject({
      status: 1,
      statusAddition: null,
      optInIp: '127.0.0.1',
      channels: [channelOther],
    });
  });

  it('escapes a hostile channel name in the mail and on the pages, and ignores a colour that is not one', async () => {
    const { email } = await signUp({ languageIso: 'en', firstname: '"><img src=x>', channels: [channelHostile] });
    const mail = await inbox(email);
    expect(mail.subject).toBe('<script>alert(1)</script> & Co: Please confirm your subscription');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<img src=x>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
    const page = await visit(confirmLink(mail));
    expectSafePage(page, 'en');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co');
    expect(page.text).not.toContain('display:none');
  });

  it('the unsubscribe page only asks; its one-click POST (RFC 8058) unsubscribes from the mail’s channel', async () => {
    const { id, email } = await signUp({ languageIso: 'de', channels: [channelDe] });
    const mail = await inbox(email);
    const url = unsubscribeLink(mail);

    // A prefetcher or mail scanner GETs the link: it sees a button and nothing happens.
    const question = await visit(url);
    expect(question.status).toBe(200);
    expectSafePage(question, 'de');
    expect(question.text).toContain('Möchten Sie sich von „Wochenpost“ abmelden?');
    expect(question.text).toMatch(/<form method="post" action="\/p\/unsubscribe\/[A-Za-z0-9_-]+">/);
    expect(question.text).toMatch(/<button type="submit">Jetzt abmelden<\/button>/);
    expect(await subscriber(id)).toMatchObject({ status: 2, statusAddition: 1, channels: [channelDe] });

    const done = await visit(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(done.status).toBe(200);
    expectSafePage(done, 'de');
    expect(done.text).toContain('Sie erhalten keine E-Mails von „Wochenpost“ mehr.');
    expect(await subscriber(id)).toMatchObject({ status: 3, statusAddition: 2, channels: [] });

    // Repeating it is harmless; the old confirm link no longer brings the subscriber back.
    expect(
      (
        await visit(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        })
      ).status,
    ).toBe(200);
    const stale = await visit(confirmLink(mail));
    expect(stale.status).toBe(404);
    expect(await subscriber(id)).toMatchObject({ status: 3, statusAddition: 2 });
  });

  it('unsubscribing from one channel keeps a ready subscriber in the others; an empty POST works too', async () => {
    const { id, email } = await signUp({ languageIso: 'de', channels: [channelDe, channelOther] });
    const mail = await inbox(email);
    await confirm(confirmLink(mail));
    const done = await visit(unsubscribeLink(mail), { method: 'POST' });
    expect(done.status).toBe(200);
    expect(await subscriber(id)).toMatchObject({ status: 1, statusAddition: null, channels: [channelOther] });

    // The unsubscribe link on the preferences page has no channel: it leaves everything.
    const prefs = await visit(linkIn(done, 'preferences'));
    const all = await visit(linkIn(prefs, 'unsubscribe'));
    expect(all.text).toContain('Möchten Sie sich von allen unseren E-Mails abmelden?');
    const gone = await visit(linkIn(prefs, 'unsubscribe'), {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--x--\r\n',
    });
    expect(gone.status).toBe(200);
    expect(await subscriber(id)).toMatchObject({ status: 3, statusAddition: 2, channels: [] });
  });

  it('the preferences page shows and saves name, language and channel subscriptions', async () => {
    const { id, email } = await signUp({ languageIso: 'de', firstname: 'Grace', channels: [channelDe] });
    const confirmPage = await confirm(confirmLink(await inbox(email)));
    const prefsPath = linkIn(confirmPage, 'preferences');

    const form = await visit(prefsPath);
    expect(form.status).toBe(200);
    expectSafePage(form, 'de');
    expect(form.text).toContain(email);
    expect(form.text).toContain('<label for="firstname">Vorname</label>');
    expect(form.text).toContain('id="firstname" name="firstname" value="Grace"');
    expect(form.text).toContain('<option value="de" selected>Deutsch</option>');
    expect(form.text).toContain(`<input type="checkbox" name="channels" value="${channelDe}" checked> Wochenpost`);
    expect(form.text).toContain(`<input type="checkbox" name="channels" value="${channelOther}"> Angebote`);
    expect(form.text).toMatch(new RegExp(`<form method="post" action="${prefsPath}">`));

    const body = new URLSearchParams([
      ['token', formTokenIn(form)],
      ['firstname', 'Grace <Admiral>'],
      ['lastname', 'Hopper'],
      ['languageIso', 'en'],
      ['channels', String(channelOther)],
      ['channels', '999999'], // not a channel of this account: ignored
    ]).toString();
    const saved = await visit(prefsPath, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(saved.status).toBe(200);
    expectSafePage(saved, 'en');
    expect(saved.text).toContain('Your preferences have been saved.');
    expect(saved.text).toContain('value="Grace &lt;Admiral&gt;"');
    expect(saved.text).toContain(`<input type="checkbox" name="channels" value="${channelOther}" checked> Angebote`);
    expect(await subscriber(id)).toMatchObject({
      firstname: 'Grace <Admiral>',
      lastname: 'Hopper',
      languageIso: 'en',
      status: 1,
      channels: [channelOther],
    });

    // Too long a name: the form comes back with a note, nothing is saved.
    const bad = await visit(prefsPath, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${formTokenIn(saved)}&firstname=${'x'.repeat(101)}&languageIso=en`,
    });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('role="alert"');
    expect((await subscriber(id)).firstname).toBe('Grace <Admiral>');

    // Anything but the form is refused rather than read as "all fields empty".
    const json = await visit(prefsPath, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    expect(await subscriber(id)).toMatchObject({ firstname: 'Grace <Admiral>', channels: [channelOther] });
  });

  it("confirms only by the page's own form: no form token, a stale one or another site's POST change nothing", async () => {
    const { id, email } = await signUp({ languageIso: 'en', channels: [channelOther] });
    const link = confirmLink(await inbox(email));
    const question = await visit(link);
    const form = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
      visit(link, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(fields).toString(),
      });

    const bare = await form({});
    expect(bare.status).toBe(400);
    expectSafePage(bare, 'en');
    expect(bare.text).toContain('The form was open for too long.');
    expect(bare.text).toContain('<button type="submit">Confirm subscription</button>'); // asked again
    expect((await form({ token: 'forged' })).status).toBe(400);
    const otherSite = await form({ token: formTokenIn(question) }, { origin: 'https://evil.example' });
    expect(otherSite.status).toBe(403);
    const crossSite = await form({ token: formTokenIn(question) }, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    // A form token made for another link (here: another subscriber's) does not fit this one.
    const other = await signUp({ languageIso: 'en', channels: [channelOther] });
    const otherQuestion = await visit(confirmLink(await inbox(other.email)));
    expect((await form({ token: formTokenIn(otherQuestion) })).status).toBe(400);
    // A JSON body is not the form.
    const json = await visit(link, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    // A page left open past the form token's lifetime (2 h) asks again.
    const clock = server.app.ctx.clock;
    server.app.ctx.clock = () => Date.now() + 2 * 3600_000 + 60_000;
    try {
      expect((await form({ token: formTokenIn(question) })).status).toBe(400);
    } finally {
      server.app.ctx.clock = clock;
    }
    expect(await subscriber(id)).toMatchObject({ status: 2, statusAddition: 1, optInIp: null });

    // The page's own form, same origin, confirms.
    const done = await form({ token: formTokenIn(question) }, { origin: server.url, 'sec-fetch-site': 'same-origin' });
    expect(done.status).toBe(200);
    expect(await subscriber(id)).toMatchObject({ status: 1, statusAddition: null, channels: [channelOther] });
  });

  it('saves preferences only from their own form', async () => {
    const { id, email } = await signUp({ languageIso: 'en', firstname: 'Ken', channels: [channelOther] });
    const prefsPath = linkIn(await confirm(confirmLink(await inbox(email))), 'preferences');
    const page = await visit(prefsPath);
    const post = (fields: string[][], headers: Record<string, string> = {}) =>
      visit(prefsPath, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(fields).toString(),
      });
    const noToken = await post([['firstname', 'Mallory']]);
    expect(noToken.status).toBe(400);
    expect(noToken.text).toContain('role="alert"');
    const otherSite = await post(
      [
        ['token', formTokenIn(page)],
        ['firstname', 'Mallory'],
      ],
      { origin: 'https://evil.example' },
    );
    expect(otherSite.status).toBe(403);
    expect(await subscriber(id)).toMatchObject({ firstname: 'Ken', channels: [channelOther] });
    const saved = await post([
      ['token', formTokenIn(page)],
      ['firstname', 'Kenneth'],
      ['channels', String(channelOther)],
    ]);
    expect(saved.status).toBe(200);
    expect(await subscriber(id)).toMatchObject({ firstname: 'Kenneth', channels: [channelOther] });
  });

  it('an altered, foreign-purpose or unknown link gets the friendly 404 page, never a stack trace', async () => {
    const { email } = await signUp({ languageIso: 'de', channels: [channelDe] });
    const mail = await inbox(email);
    const link = confirmLink(mail);
    const token = link.split('/').pop()!;
    const flipped = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21);
    const unsubscribeToken = unsubscribeLink(mail).split('/').pop()!;

    const cases: Array<[string, RequestInit?]> = [
      [`/p/confirm/${flipped}`],
      [`/p/confirm/${token.slice(0, -2)}`],
      [`/p/confirm/${unsubscribeToken}`], // a valid token, made for another page
      [`/p/preferences/${token}`],
      [
        `/p/unsubscribe/${flipped}`,
        {
          method: 'POST',
          body: 'List-Unsubscribe=One-Click',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
      ],
      [`/p/confirm/${'x'.repeat(500)}`],
      ['/p/nothing-here'],
      ['/p/confirm'],
      [`/p/confirm/${token}/extra`],
    ];
    for (const [path, init] of cases) {
      const page = await visit(path, {
        ...init,
        headers: { 'accept-language': 'de-DE,de;q=0.9', ...(init?.headers as Record<string, string>) },
      });
      expect(page.status, path).toBe(404);
      expectSafePage(page, 'de');
      expect(page.text).toContain('Dieser Link ist nicht gültig');
      expect(page.text).not.toMatch(/\.ts:\d+|\bat \S+ \(|Error:|stack/i);
    }
    const english = await visit(`/p/unsubscribe/${flipped}`, { headers: { 'accept-language': 'en-US' } });
    expect(english.status).toBe(404);
    expect(english.text).toContain('This link is not valid');
    // A body far beyond a form's size is refused with a page too, before anything changes.
    const huge = await visit(unsubscribeLink(mail), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `List-Unsubscribe=One-Click&pad=${'x'.repeat(64 * 1024)}`,
    });
    expect(huge.status).toBe(413);
    expectSafePage(huge, 'en');
    // Nobody was confirmed or unsubscribed by any of that.
    const rows = await server.app.ctx.db
      .selectFrom('subscribers')
      .select(['status', 'status_addition'])
      .where('email', '=', email)
      .execute();
    expect(rows).toEqual([{ status: 2, status_addition: 1 }]);
  });

  it('keeps the API surfaces JSON-only: the form parser belongs to the public pages', async () => {
    const res = await server.api.request('POST', '/v1/transmissions', {
      rawBody: 'from=a',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    const marketing = await server.api.request('POST', '/api/v1/channels', {
      rawBody: 'name=a',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect([404, 415]).toContain(marketing.status);
    expect(marketing.headers.get('content-type')).toContain('application/json');
  });
});
