// One of every account-owned resource, created through the public API (marketing and
// transactional), for the isolation walk. Every name and address carries the account's tag, so a
// leak shows up as the tag in another account's answer.
import { expect } from 'vitest';
import nodemailer from 'nodemailer';
import { createTemplate, waitFor, waitForTransmission, type ApiClient, type ApiResponse } from './server.ts';

/** The kinds of id a route's path parameter can take. */
export type IdKind =
  | 'channel'
  | 'customerField'
  | 'subscriber'
  | 'group'
  | 'blacklist'
  | 'job'
  | 'mailing'
  | 'marketingWebhook'
  | 'triggerKey'
  | 'domain'
  | 'template'
  | 'transmission'
  | 'message'
  | 'transactionalWebhook'
  | 'suppression'
  | 'apiKey'
  | 'subAccount'
  | 'inboundReport'
  | 'sandboxRecipient';

export interface AccountResources {
  tag: string;
  ids: Record<IdKind, string[]>;
  subscriberEmail: string;
  domain: string;
  groupName: string;
}

function created(res: ApiResponse, what: string): any {
  expect(res.status, `creating ${what}: ${res.text.slice(0, 500)}`).toBeGreaterThanOrEqual(200);
  expect(res.status, `creating ${what}: ${res.text.slice(0, 500)}`).toBeLessThan(300);
  return res.body;
}

/**
 * Creates the resources as the owner of `api`. `tag` is lower-case letters and dashes.
 * Webhooks are created inactive: they then collect nothing, so their delivery logs stay still
 * while the walk runs (and the walk compares them before and after).
 */
export async function createAccountResources(
  api: ApiClient,
  tag: string,
  hookTarget: string,
  opts: {
    subAccounts?: boolean;
    /** The inbound receiver's port: a report about the message is kept too. */ inboundPort?: number;
  } = {},
): Promise<AccountResources> {
  const ids = Object.fromEntries(
    [
      'channel',
      'customerField',
      'subscriber',
      'group',
      'blacklist',
      'job',
      'mailing',
      'marketingWebhook',
      'triggerKey',
      'domain',
      'template',
      'transmission',
      'message',
      'transactionalWebhook',
      'suppression',
      'apiKey',
      'subAccount',
      'inboundReport',
      'sandboxRecipient',
    ].map((k) => [k, [] as string[]]),
  ) as Record<IdKind, string[]>;
  const add = (kind: IdKind, id: unknown) => ids[kind].push(String(id));

  const channel = created(
    await api.post('/api/v1/channels', {
      name: `${tag} channel`,
      senderEmail: `news@${tag}.example`,
      senderName: `${tag} sender`,
    }),
    'channel',
  ).data;
  add('channel', channel.id);
  const field = created(
    await api.post('/api/v1/customerFields', {
      fieldType: 1,
      type: 1,
      translations: { en: { name: `${tag} field`, description: `${tag} secret field` } },
    }),
    'customer field',
  ).data;
  add('customerField', field.id);

  const subscriberEmail = `${tag}-member@example.com`;
  const subscriber = created(
    await api.post('/api/v1/subscribers', {
      email: subscriberEmail,
      firstname: `${tag} first`,
      lastname: `${tag} last`,
      channels: [channel.id],
      customerFields: { [field.id]: `${tag} value` },
    }),
    'subscriber',
  ).data;
  add('subscriber', subscriber.id);

  const groupName = `${tag} static group`;
  const staticGroup = created(
    await api.post('/api/v1/subscriberGroups', { name: groupName, type: 1 }),
    'static group',
  ).data;
  created(
    await api.post(`/api/v1/subscriberGroups/${staticGroup.id}/subscribers`, { subscriberIds: [subscriber.id] }),
    'group member',
  );
  const dynamicGroup = created(
    await api.post('/api/v1/subscriberGroups', {
      name: `${tag} dynamic group`,
      type: 2,
      conditions: [{ [`customerFields.${field.id}`]: `${tag} value` }],
    }),
    'dynamic group',
  ).data;
  add('group', staticGroup.id);
  add('group', dynamicGroup.id);

  add(
    'blacklist',
    created(await api.post('/api/v1/blacklist', { pattern: `*@${tag}-blocked.example` }), 'blacklist entry').data.id,
  );

  const upload = await api.request('POST', '/api/v1/subscribers/import', {
    rawBody: `email,firstname\n${tag}-imported@example.com,${tag} imported\n`,
    headers: { 'content-type': 'text/csv' },
  });
  const job = created(upload, 'import job').data;
  add('job', job.id);
  await waitFor(
    async () => ['completed', 'failed'].includes((await api.get(`/api/v1/jobs/${job.id}`)).body.data?.status),
    20_000,
    `import job ${job.id}`,
  );

  const template = created(
    await createTemplate(api, {
      name: `${tag} template`,
      subject: `${tag} subject`,
      html: `<p>${tag} template body</p>`,
    }),
    'template',
  );
  add('template', template.id);

  const mailing = created(
    await api.post('/api/v1/mailings', {
      name: `${tag} mailing`,
      subject: `${tag} news`,
      html: `<p>Hello {{firstname}}, ${tag} news</p>`,
      senderEmail: `news@${tag}.example`,
      channelId: channel.id,
      subscriberGroupIds: [staticGroup.id],
    }),
    'mailing',
  ).data;
  add('mailing', mailing.id);

  // A trigger mailing is active (listed by GET /triggerTypes, sendable by its key) once "sent";
  // activating it fans out to nobody. Its keys are whatever the list shows.
  const trigger = created(
    await api.post('/api/v1/mailings', {
      name: `${tag} trigger`,
      type: 'trigger',
      triggerKey: `${tag}-welcome`,
      subject: `${tag} welcome`,
      html: `<p>${tag} welcome</p>`,
      senderEmail: `news@${tag}.example`,
      channelId: channel.id,
    }),
    'trigger mailing',
  ).data;
  add('mailing', trigger.id);
  created(await api.post(`/api/v1/mailings/${trigger.id}/send`), 'trigger activation');
  for (const t of created(await api.get('/api/v1/triggerTypes'), 'trigger types').data) add('triggerKey', t.key);

  add(
    'marketingWebhook',
    created(
      await api.post('/api/v1/webhooks', { name: `${tag} marketing hook`, url: hookTarget, active: false }),
      'marketing webhook',
    ).data.id,
  );
  add(
    'transactionalWebhook',
    created(
      await api.post('/v1/webhooks', { name: `${tag} transactional hook`, target: hookTarget, active: false }),
      'transactional webhook',
    ).id,
  );

  add(
    'suppression',
    created(
      await api.post('/v1/suppressions', { email: `${tag}-suppressed@example.org`, reason: `${tag} reason` }),
      'suppression',
    ).id,
  );
  add(
    'sandboxRecipient',
    created(await api.post('/v1/sandbox/recipients', { email: `${tag}-sandbox@example.org` }), 'sandbox recipient').id,
  );
  add('apiKey', created(await api.post('/v1/api-key', { name: `${tag} key`, permissionIds: [7] }), 'API key').id);
  // A sub-account has no sub-accounts of its own (opts.subAccounts false for one).
  if (opts.subAccounts !== false)
    add('subAccount', created(await api.post('/v1/sub-account', { name: `${tag} sub-account` }), 'sub-account').id);

  const domain = `${tag}.example`;
  add('domain', created(await api.post('/v1/domain/sending', { domain, note: `${tag} domain` }), 'sending domain').id);

  const sent = created(
    await api.post('/v1/layang/transmissions', {
      from: { email: `mail@${domain}` },
      to: [{ email: `${tag}-recipient@example.org` }],
      subject: `${tag} receipt`,
      bodyHtml: `<p>${tag} receipt body</p>`,
    }),
    'transmission',
  );
  add('transmission', sent.transmissionId);
  for (const message of await waitForTransmission(api, sent.transmissionId)) add('message', message.id);
  if (opts.inboundPort !== undefined) {
    // A reply to the message's return path: kept as a report of the account (GET /v1/inbound/:id).
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: opts.inboundPort, ignoreTLS: true });
    const info = await transport.sendMail({
      envelope: { from: '', to: [`bounces+${ids.message[0]}@${domain}`] },
      raw: `From: ${tag}-recipient@example.org\r\nSubject: ${tag} reply\r\n\r\n${tag} reply body\r\n`,
    });
    transport.close();
    add('inboundReport', /report ([0-9a-f]{24})/.exec(info.response)![1]);
  }

  return { tag, ids, subscriberEmail, domain, groupName };
}
