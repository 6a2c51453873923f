// The dashboard in a real browser: Debian's Chromium, driven by playwright-core, against the real
// server on a random port delivering to a real SMTP sink. One browser for the whole file; every
// page is screenshotted (test-results/screenshots, ignored by git) and checked with axe-core (no
// serious or critical violations).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, waitFor, type TestServer } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.resolve('test-results/screenshots');
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const LONG = 120_000;

let server: TestServer;
let sink: SmtpSink;
let receiver: WebhookReceiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;

async function newContext(width = 1280, height = 900): Promise<BrowserContext> {
  // bypassCSP only lets the test inject axe-core; the mail frame's safety rests on its sandbox.
  return browser.newContext({ viewport: { width, height }, bypassCSP: true });
}

async function shoot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** axe-core on the page as it is: no serious or critical WCAG 2 A/AA violations. */
async function expectAccessible(p: Page, name: string): Promise<void> {
  await p.addScriptTag({ content: AXE_SOURCE });
  const violations = await p.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<any> } }).axe;
    const result = await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] });
    return (result.violations as Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>)
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `axe on ${name}`).toEqual([]);
}

async function visit(p: Page, pathname: string, heading: string | RegExp): Promise<void> {
  await p.goto(server.url + pathname);
  await p.getByRole('heading', { level: 1, name: heading }).waitFor();
}

describe.skipIf(!fs.existsSync(CHROMIUM))('the dashboard in Chromium', () => {
  beforeAll(async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    sink = await startSmtpSink();
    receiver = await startWebhookReceiver();
    server = await startTestServer({
      POSTHORN_DELIVERY: 'relay',
      POSTHORN_RELAYS: sink.url,
      POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
      POSTHORN_WEBHOOK_ALLOW_PRIVATE: 'true',
      POSTHORN_WEBHOOK_POLL_MS: '50',
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, LONG);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await receiver?.close();
    await sink?.close();
  });

  it(
    'refuses a wrong API key',
    async () => {
      const ctx = await newContext();
      const p = await ctx.newPage();
      await p.goto(`${server.url}/sign-in`);
      await p.getByLabel('API key', { exact: true }).fill('AAAAAAAA.00000000000000000000000000000000');
      await p.getByRole('button', { name: 'Sign in' }).click();
      await expect(p.getByRole('alert').textContent()).resolves.toMatch(/not valid/);
      await expectAccessible(p, 'sign-in');
      await shoot(p, 'sign-in-refused');
      await ctx.close();
    },
    LONG,
  );

  it(
    'the first-start link signs the operator in at once',
    async () => {
      context = await newContext();
      page = await context.newPage();
      await page.goto(server.app.dashboardUrl!);
      await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
      expect(await page.locator('.who').textContent()).toContain('First key');
      // The token left the address bar.
      expect(page.url()).not.toContain('token=');
    },
    LONG,
  );

  it(
    'signs in with an API key',
    async () => {
      const ctx = await newContext();
      const p = await ctx.newPage();
      await p.goto(`${server.url}/`);
      await p.getByLabel('API key', { exact: true }).fill(server.key);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
      await ctx.close();
    },
    LONG,
  );

  it(
    'shows a message sent through the API in the inbox without reloading, its HTML in a frame where scripts do not run',
    async () => {
      await visit(page, '/inbox', 'Inbox');
      await page.evaluate(() => {
        (window as unknown as { leaked: unknown[] }).leaked = [];
        window.addEventListener('message', (e) => (window as unknown as { leaked: unknown[] }).leaked.push(e.data));
      });
      const sent = await server.api.post('/v1/layang/transmissions', {
        from: { email: 'app@example.com', name: 'App' },
        to: [{ email: 'ada@example.org', name: 'Ada' }],
        subject: 'Your receipt {{name}}',
        bodyHtml:
          '<p id="greeting">Hello {{name}}</p>' +
          '<script>document.getElementById("greeting").textContent = "SCRIPT RAN"; parent.postMessage("script ran", "*");</script>',
        bodyText: 'Hello {{name}}',
        substitutionData: { name: 'Ada' },
        optionsAttributes: { sandbox: true },
      });
      expect(sent.status, sent.text).toBe(200);
      const link = page.getByRole('link', { name: 'Your receipt Ada' });
      await link.waitFor({ timeout: 15_000 }); // polling, no reload
      await shoot(page, 'inbox');
      await expectAccessible(page, 'inbox');
      await link.click();
      await page.getByRole('heading', { level: 1, name: 'Your receipt Ada' }).waitFor();
      const frame = page.locator('iframe.mail-frame');
      expect(await frame.getAttribute('sandbox')).toBe('');
      await expect(page.frameLocator('iframe.mail-frame').locator('#greeting').textContent()).resolves.toBe(
        'Hello Ada',
      );
      expect(await page.evaluate(() => (window as unknown as { leaked: unknown[] }).leaked)).toEqual([]);
      await shoot(page, 'inbox-message');
      await expectAccessible(page, 'inbox message');
      await page.getByRole('tab', { name: 'Raw' }).click();
      expect(await page.locator('pre.source').textContent()).toContain('Subject: Your receipt Ada');
      await page.getByRole('tab', { name: 'Headers' }).click();
      await page.getByRole('rowheader', { name: 'Subject' }).waitFor();
    },
    LONG,
  );

  it(
    'lists messages with filters and shows one message’s events',
    async () => {
      await visit(page, '/messages', 'Messages');
      await page.getByLabel('Status').selectOption('captured');
      await page.getByRole('cell', { name: 'ada@example.org' }).first().waitFor();
      // A day without mail empties the list; today brings the message back.
      await page.getByLabel('To (day, UTC)').fill('2020-01-01');
      await page.getByRole('cell', { name: 'ada@example.org' }).first().waitFor({ state: 'detached' });
      const today = new Date().toISOString().slice(0, 10);
      await page.getByLabel('To (day, UTC)').fill(today);
      await page.getByLabel('From (day, UTC)').fill(today);
      await page.getByRole('cell', { name: 'ada@example.org' }).first().waitFor();
      await shoot(page, 'messages');
      await expectAccessible(page, 'messages');
      await page.locator('table.list tbody a').first().click();
      await page.getByRole('heading', { level: 1, name: 'Message to ada@example.org' }).waitFor();
      await page.locator('ol.timeline li').first().waitFor();
      await shoot(page, 'message-events');
      await expectAccessible(page, 'message events');
    },
    LONG,
  );

  it(
    'shows a tracked message without recording an open or a click: no pixel, links at their destinations',
    async () => {
      const sent = await server.api.post('/v1/layang/transmissions', {
        from: { email: 'app@example.com' },
        to: [{ email: 'grace@example.org' }],
        subject: 'Tracked newsletter',
        bodyHtml: '<p>Read <a id="more" href="https://example.com/article?id=7">the article</a></p>',
        optionsAttributes: { sandbox: true, openTracking: true, clickTracking: true },
      });
      expect(sent.status, sent.text).toBe(200);
      const transmissionId = sent.body.transmissionId as string;
      let messageId = '';
      await waitFor(async () => {
        const list = await server.api.get(`/v1/messages?transmissionId=${transmissionId}`);
        messageId = list.body.data?.[0]?.status === 'captured' ? list.body.data[0].id : '';
        return messageId !== '';
      });
      // The captured MIME is tracked: the preview's html keeps the pixel and the tracked link.
      const preview = await server.api.get(`/v1/messages/${messageId}/preview`);
      expect(preview.body.html).toMatch(/\/t\/o\//);
      expect(preview.body.html).toMatch(/\/t\/c\//);
      const tracking: string[] = [];
      page.on('request', (r) => {
        if (new URL(r.url()).pathname.startsWith('/t/')) tracking.push(r.url());
      });
      await visit(page, `/inbox/${messageId}`, 'Tracked newsletter');
      const frame = page.frameLocator('iframe.mail-frame');
      await expect(frame.locator('#more').getAttribute('href')).resolves.toBe('https://example.com/article?id=7');
      expect(await frame.locator('img').count()).toBe(0);
      await page.waitForTimeout(500);
      expect(tracking).toEqual([]);
      const detail = await server.api.get(`/v1/messages/${messageId}`);
      expect(detail.body.events.map((e: { type: string }) => e.type)).not.toContain('open');
    },
    LONG,
  );

  it(
    'shows the overview charts',
    async () => {
      await visit(page, '/overview', 'Overview');
      await page.locator('figure.chart').first().waitFor();
      await shoot(page, 'overview');
      await expectAccessible(page, 'overview');
    },
    LONG,
  );

  it(
    'edits a template with a live preview rendered by the server',
    async () => {
      expect(
        (await server.api.post('/v1/template', { id: 'welcome', name: 'Welcome', html: '<p>Hi {{name}}</p>' })).status,
      ).toBe(200);
      await visit(page, '/templates/welcome', 'Template welcome');
      await page.getByLabel('Subject').fill('Welcome, {{name}}');
      await page.getByLabel('HTML', { exact: true }).fill('<h1>Welcome aboard, {{name}}</h1>');
      await expect
        .poll(() => page.getByTestId('preview-subject').textContent(), { timeout: 10_000 })
        .toBe('Welcome, Ada');
      await expect
        .poll(() => page.frameLocator('iframe.mail-frame').locator('h1').textContent(), { timeout: 10_000 })
        .toBe('Welcome aboard, Ada');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      expect((await server.api.get('/v1/template/welcome')).body.html).toBe('<h1>Welcome aboard, {{name}}</h1>');
      await shoot(page, 'template-editor');
      await expectAccessible(page, 'template editor');
    },
    LONG,
  );

  it(
    "shows a sending domain's DNS records",
    async () => {
      const created = await server.api.post('/v1/domain/sending', { domain: 'mail.example.com' });
      expect(created.status, created.text).toBeLessThan(300);
      const id = created.body.id ?? created.body.data?.id;
      const domain = (await server.api.get(`/v1/domain/sending/${id}`)).body;
      await visit(page, `/domains/${id}`, 'mail.example.com');
      await page.locator('td', { hasText: domain.dkimHostname }).first().waitFor();
      expect(await page.locator('.record-value').allTextContents()).toContain(domain.dkimValue);
      await page.getByRole('button', { name: 'Copy DKIM value' }).waitFor();
      await shoot(page, 'domain');
      await expectAccessible(page, 'domain');
    },
    LONG,
  );

  it(
    'imports a CSV of 10,000 subscribers with the progress bar reaching 100 %',
    async () => {
      const rows = Array.from(
        { length: 10_000 },
        (_, i) => `imp${i}@example.org,First${i},${i % 2 ? 'Berlin' : 'Hamburg'}`,
      );
      const csv = Buffer.from(`email,firstname,city\n${rows.join('\n')}\n`);
      await visit(page, '/subscribers', 'Subscribers');
      await page
        .locator('input[type=file]')
        .setInputFiles({ name: 'subscribers.csv', mimeType: 'text/csv', buffer: csv });
      await expect
        .poll(() => page.getByTestId('import-status').textContent(), { timeout: LONG - 10_000, interval: 500 })
        .toMatch(/^100 % · completed · 10000 created/);
      expect(await page.getByTestId('import-progress').getAttribute('value')).toBe('100');
      await shoot(page, 'subscribers-import');
    },
    LONG,
  );

  it(
    'a filter built in the UI returns the same subscribers as the API',
    async () => {
      await visit(page, '/subscribers', 'Subscribers');
      const condition = page.getByRole('group', { name: 'Condition 1' });
      await condition.getByLabel('Field').fill('email');
      await condition.getByLabel('Condition', { exact: true }).selectOption('like');
      await condition.getByLabel('Value').fill('imp12%');
      await page.getByRole('button', { name: 'Add condition' }).click();
      const second = page.getByRole('group', { name: 'Condition 2' });
      await second.getByLabel('Field').fill('city');
      await second.getByLabel('Value').fill('Berlin');
      await page.getByRole('button', { name: 'Apply filter' }).click();
      const search = JSON.stringify([
        { email: { condition: 'like', value: 'imp12%' } },
        { city: { condition: '=', value: 'Berlin' } },
      ]);
      const api = await server.api.get(
        `/api/v1/subscribers?search=${encodeURIComponent(search)}&limit=100&sorting=[{"id":"asc"}]`,
      );
      expect(api.status, api.text).toBe(200);
      const total = api.body.meta.pagination.total as number;
      expect(total).toBeGreaterThan(0);
      await expect.poll(() => page.getByTestId('subscriber-total').textContent()).toBe(`${total} subscribers`);
      const shown = await page.locator('table.list tbody tr td:nth-child(2)').allTextContents();
      expect(shown).toEqual(api.body.data.slice(0, 25).map((s: { email: string }) => s.email));
      await expectAccessible(page, 'subscribers');
      await shoot(page, 'subscribers-filter');
    },
    LONG,
  );

  it(
    'creates, previews and sends a mailing, its live counters matching the sink',
    async () => {
      const channel = (await server.api.post('/api/v1/channels', { name: 'News', senderEmail: 'news@example.com' }))
        .body.data;
      const bulk = await server.api.post('/api/v1/subscribers/bulk', {
        subscribers: Array.from({ length: 20 }, (_, i) => ({
          email: `reader${i}@example.net`,
          firstname: `R${i}`,
          channels: [channel.id],
        })),
      });
      expect(bulk.status, bulk.text).toBeLessThan(300);
      const ids = (bulk.body.data as Array<{ id: number }>).map((r) => r.id);
      const group = (await server.api.post('/api/v1/subscriberGroups', { name: 'Readers', type: 1 })).body.data;
      expect(
        (await server.api.post(`/api/v1/subscriberGroups/${group.id}/subscribers`, { subscriberIds: ids })).status,
      ).toBeLessThan(300);

      await visit(page, '/mailings', 'Mailings');
      await page.getByLabel('Name', { exact: true }).fill('June news');
      await page.getByLabel('Channel').selectOption({ label: 'News' });
      await page.getByLabel('Sender email').fill('news@example.com');
      await page.getByLabel('Subject').fill('June news for {{ firstname }}');
      await page.getByLabel('Readers').check();
      await expectAccessible(page, 'mailings');
      await shoot(page, 'mailings');
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('heading', { level: 1, name: 'June news' }).waitFor();
      await page.frameLocator('iframe.mail-frame').locator('p').first().waitFor();
      await page.getByRole('button', { name: 'Send now' }).click();
      await page.locator('.badge-sent').waitFor({ timeout: 60_000 });
      await sink.waitForCount(20, 60_000);
      const delivered = sink.messages.filter((m) => m.to.some((t) => t.startsWith('reader'))).length;
      expect(delivered).toBe(20);
      await expect
        .poll(() => page.getByTestId('stat-delivered').textContent(), { timeout: 30_000 })
        .toBe(String(delivered));
      expect(await page.getByTestId('recipient-count').textContent()).toBe('20');
      await shoot(page, 'mailing-sent');
      await expectAccessible(page, 'mailing');
    },
    LONG,
  );

  it(
    'creates a webhook, sends a test batch and shows the delivery log',
    async () => {
      await visit(page, '/webhooks', 'Webhooks');
      await page.getByLabel('Name', { exact: true }).fill('Receiver');
      await page.getByLabel('Target URL').fill(receiver.url);
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('link', { name: 'Receiver' }).click();
      await page.getByRole('heading', { level: 1, name: 'Receiver' }).waitFor();
      await page.getByRole('button', { name: 'Send a test batch' }).click();
      await waitFor(async () => receiver.deliveries.length > 0, 15_000, 'a webhook delivery');
      await page.getByTestId('delivery-log').getByRole('cell', { name: '200' }).first().waitFor({ timeout: 15_000 });
      await shoot(page, 'webhook-log');
      await expectAccessible(page, 'webhook log');
    },
    LONG,
  );

  it(
    'shows API keys and sub-accounts',
    async () => {
      await visit(page, '/keys', 'API keys');
      await page.getByRole('cell', { name: 'First key (created at first start)' }).waitFor();
      await page.getByLabel('New key name').fill('CI deploys');
      await page.getByRole('button', { name: 'Create key' }).click();
      const shown = (await page.getByRole('status').filter({ hasText: 'shown once' }).locator('code').textContent())!;
      expect((await server.api.get('/v1/template', { auth: `Bearer ${shown}` })).status).toBe(200);
      await page.getByLabel('New sub-account name').fill('Shop');
      await page.getByRole('button', { name: 'Create sub-account' }).click();
      await page.getByRole('cell', { name: 'Shop', exact: true }).waitFor();
      await shoot(page, 'keys');
      await expectAccessible(page, 'keys');
    },
    LONG,
  );

  it(
    'edits a subscriber',
    async () => {
      const one = (await server.api.get('/api/v1/subscribers?search=[{"email":"imp7@example.org"}]')).body.data[0];
      await visit(page, `/subscribers/${one.id}`, 'imp7@example.org');
      await page.getByLabel('First name').fill('Grace');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      expect((await server.api.get(`/api/v1/subscribers/${one.id}`)).body.data.firstname).toBe('Grace');
      await shoot(page, 'subscriber');
      await expectAccessible(page, 'subscriber');
    },
    LONG,
  );

  it(
    'adds and removes entries of groups, custom fields, channels, blacklist and suppressions',
    async () => {
      const cases: Array<{ path: string; title: string; fill: Record<string, string>; shows: string }> = [
        { path: 'groups', title: 'Groups', fill: { Name: 'VIP' }, shows: 'VIP' },
        { path: 'fields', title: 'Custom fields', fill: { 'Name (English)': 'Shoe size' }, shows: 'Shoe size' },
        {
          path: 'channels',
          title: 'Channels',
          fill: { Name: 'Offers', 'Sender email': 'offers@example.com' },
          shows: 'Offers',
        },
        {
          path: 'blacklist',
          title: 'Blacklist',
          fill: { 'Address or *@domain': '*@spam.example' },
          shows: '*@spam.example',
        },
        { path: 'suppressions', title: 'Suppressions', fill: { Email: 'gone@example.org' }, shows: 'gone@example.org' },
      ];
      for (const c of cases) {
        await visit(page, `/lists/${c.path}`, c.title);
        for (const [label, value] of Object.entries(c.fill)) await page.getByLabel(label, { exact: true }).fill(value);
        await page.getByRole('button', { name: 'Add', exact: true }).click();
        const row = page.getByRole('row').filter({ hasText: c.shows });
        await row.waitFor();
        await shoot(page, `list-${c.path}`);
        await expectAccessible(page, c.title);
        await row.getByRole('button', { name: 'Remove' }).click();
        await row.waitFor({ state: 'detached' });
      }
      expect((await server.api.get('/v1/suppressions/lookup?email=gone@example.org')).body.suppressed).toBe(false);
    },
    LONG,
  );

  it(
    'is usable on a phone',
    async () => {
      const phone = await newContext(390, 844);
      await phone.addCookies(await context.cookies());
      const p = await phone.newPage();
      await visit(p, '/inbox', 'Inbox');
      await p.getByRole('link', { name: 'Your receipt Ada' }).waitFor();
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await shoot(p, 'inbox-phone');
      await phone.close();
    },
    LONG,
  );

  it(
    'signs out everywhere',
    async () => {
      await visit(page, '/inbox', 'Inbox');
      await page.getByRole('button', { name: 'Sign out everywhere' }).click();
      await page.getByRole('heading', { level: 1, name: 'Sign in to Posthorn' }).waitFor();
      await page.goto(`${server.url}/inbox`);
      await page.getByRole('heading', { level: 1, name: 'Sign in to Posthorn' }).waitFor();
    },
    LONG,
  );
});
