// The typed-client test: a client written the way Mailtarget's Go and Java SDKs are (typed-client.ts;
// types from the published contract in wisnuekas/mailtarget-sentinel) round-trips every management
// resource against a real Posthorn: what it creates it reads back, decoded strictly, and equal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { dialectName } from '../helpers/database.ts';
import { DecodeError, DomainDetail, MailtargetClient, decode, transmissionForm } from './typed-client.ts';

describe('the typed client decodes strictly', () => {
  it('fails on a string or a fraction where an integer is declared', () => {
    expect(() => decode(DomainDetail, { id: '7' })).toThrow(DecodeError);
    expect(() => decode(DomainDetail, { id: 7.5 })).toThrow(/\$\.id: cannot unmarshal number/);
    expect(() => decode(DomainDetail, { createdAt: '2024-01-01T00:00:00Z' })).toThrow(/\$\.createdAt/);
    expect(() => decode(DomainDetail, { status: 'Verified' })).toThrow(/\$\.status/);
    expect(() => decode({ array: DomainDetail }, { id: 1 })).toThrow(/cannot unmarshal object/);
  });

  it('ignores unknown fields and reads missing ones and null as zero values', () => {
    const d = decode(DomainDetail, { id: 3, domain: 'x.example', note: 'extra', spfVerified: null });
    expect(d.id).toBe(3);
    expect(d).not.toHaveProperty('note');
    expect(d.spfVerified).toBe(false);
    expect(d.dkimSelector).toBe('');
    expect(d.status).toEqual([]);
    expect(d.createdAt).toBe(0);
  });
});

describe(`a typed client round-trips every management resource (${dialectName})`, () => {
  const SPF_INCLUDE = '_spf.posthorn.example.net';
  let dns: DnsTestServer;
  let server: TestServer;
  let client: MailtargetClient;
  const today = new Date().toISOString().slice(0, 10);

  beforeAll(async () => {
    dns = await startDnsServer();
    server = await startTestServer({ POSTHORN_DNS_SERVERS: dns.address, POSTHORN_SPF_INCLUDE: SPF_INCLUDE });
    client = new MailtargetClient(server.url, server.key);
  });
  afterAll(async () => {
    await server?.close();
    await dns?.close();
  });

  it('transmissions: a zero-filled form is accepted and reads back through analytics', async () => {
    const before = Date.now();
    const sent = await client.send(
      transmissionForm({
        subject: 'Typed {{name}}',
        from: { email: 'typed@example.com', name: '' },
        to: [{ email: 'reader@example.org', name: 'Reader' }],
        bodyText: 'Hello {{name}}',
        substitutionData: { name: 'Ada' },
      }),
    );
    expect(sent.transmissionId).toMatch(/^[0-9a-f]{24}$/);
    await waitForTransmission(server.api, sent.transmissionId);

    const detail = await client.transmission(sent.transmissionId);
    expect(detail).toMatchObject({
      transmissionId: sent.transmissionId,
      subject: 'Typed {{name}}', // the subject as sent, before substitution
      recipientCount: 1,
      from: { email: 'typed@example.com', name: '' },
    });
    expect(detail.createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(detail.createdAt).toBeLessThanOrEqual(Date.now());
    const { events } = await client.events(sent.transmissionId);
    expect(events[0]).toMatchObject({ type: 'injection', recipient: 'reader@example.org', reason: '', url: '' });
    expect(events[0].timestamp).toBeGreaterThanOrEqual(detail.createdAt);

    const summary = await client.summary(today, today);
    expect(summary.period).toEqual({ from: today, to: today });
    expect(summary.sent + summary.delivered).toBeGreaterThanOrEqual(0);
    const days = await client.breakdown(today, today, 'DAY');
    expect(days.map((d: any) => d.name)).toEqual([today]);
  });

  it('sending domains: create, read, list, verify, share, SPF, delete', async () => {
    const created = await client.createDomain({ domain: 'typed.example.com', note: '', assignment: '' });
    expect(created).toMatchObject({ domain: 'typed.example.com', assignment: 'PRIMARY', status: ['Unverified'] });
    expect(created.id).toBeGreaterThan(0);
    expect(created.dkimPrivateKey).toBe('');
    expect(await client.getDomain(created.id)).toEqual(created);

    const [page] = await client.listDomains('typed');
    expect(page.count).toBe(1);
    expect(page.sendingDomain[0]).toMatchObject({
      id: created.id,
      domain: 'typed.example.com',
      status: 'Unverified',
      createdAt: created.createdAt,
      default: false,
    });
    expect((await client.unverifiedSpf()).data).toContainEqual({ id: created.id, name: 'typed.example.com' });

    dns.setTxt(created.spfHostname, created.spfValue);
    dns.setTxt(created.dkimHostname, created.dkimValue);
    const [verified] = await client.verifyDomain(created.id);
    expect(verified).toMatchObject({ id: created.id, status: ['Verified'], spfVerified: true, dkimVerified: true });
    expect((await client.unverifiedSpf()).data.map((d: any) => d.id)).not.toContain(created.id);
    expect((await client.listDomains('typed'))[0].sendingDomain[0]).toMatchObject({
      status: 'Verified',
      default: true,
    });

    const shared = await client.shareDomain(created.id);
    expect(shared).toEqual({ ...verified, assignment: 'ALL' });
    expect((await client.spfSuggestion(created.id)).suggestion).toBe(created.spfValue);

    expect(await client.deleteDomain(created.id)).toBe('Sending domain deleted');
    await expect(client.getDomain(created.id)).rejects.toMatchObject({ status: 404 });
  });

  it('templates: create with the contract form, list reads it back', async () => {
    const before = Date.now();
    expect(await client.createTemplate({ id: 'typed-receipt', name: 'Receipt', html: '<p>{{total}}</p>' })).toBe(true);
    const list = await client.listTemplates('typed-receipt');
    expect(list.count).toBe(1);
    expect(list.data[0]).toMatchObject({ id: 'typed-receipt', name: 'Receipt' });
    expect(list.data[0].createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(list.data[0].updatedAt).toBe(list.data[0].createdAt);
    // The id names it when sending; the SDK's empty fields mean "not given".
    const sent = await client.send(
      transmissionForm({
        from: { email: 'typed@example.com', name: '' },
        to: [{ email: 'reader@example.org', name: '' }],
        subject: 'Receipt',
        templateId: 'typed-receipt',
        substitutionData: { total: '9.99' },
      }),
    );
    expect(sent.transmissionId).not.toBe('');
  });

  it('account, usage quota and permissions', async () => {
    const account = await client.account();
    expect(account.companyId).toBeGreaterThan(0);
    expect(account.status).toBe('Active');
    const quota = await client.usageQuota();
    expect(quota.maxRecipientsPerTransmission).toBeGreaterThan(0);
    const permissions = await client.permissions();
    expect(permissions.length).toBeGreaterThan(0);
    expect(permissions.every((p: any) => p.id > 0 && p.name !== '')).toBe(true);
  });

  it('API keys: create, read, list, update, delete', async () => {
    const permissions = await client.permissions();
    const created = await client.createApiKey({ name: 'typed key', permissionIds: [permissions[0].id], allowedIp: '' });
    expect(created.id).toBeGreaterThan(0);
    expect(created.name).toBe('typed key');
    expect(created.key).not.toBe('');
    const read = await client.getApiKey(created.id);
    expect(read).toMatchObject({ id: created.id, name: 'typed key', createdAt: created.createdAt });
    expect(read.permissions.map((p: any) => p.id)).toEqual([permissions[0].id]);
    expect((await client.listApiKeys()).apiKeys.map((k: any) => k.id)).toContain(created.id);
    const updated = await client.updateApiKey(created.id, {
      name: 'typed key, renamed',
      permissionIds: [permissions[0].id],
      allowedIp: '',
      permissionType: '',
    });
    expect(updated).toMatchObject({ id: created.id, name: 'typed key, renamed' });
    expect(await client.deleteApiKey(created.id)).toBe(true);
    expect((await client.listApiKeys()).apiKeys.map((k: any) => k.id)).not.toContain(created.id);
  });

  it('sub-accounts: create, read, list, update', async () => {
    const created = await client.createSubAccount({
      name: 'Typed subsidiary',
      status: '',
      createApiKey: false,
      apiKeyName: '',
      allowedIps: '',
      ipPoolId: 0,
      permissionIds: [],
      permissionType: '',
    });
    expect(created.id).toBeGreaterThan(0);
    expect(created.subAccountName).toBe('Typed subsidiary');
    expect(await client.getSubAccount(created.id)).toMatchObject({ id: created.id, status: 'Active' });
    expect((await client.listSubAccounts()).subAccounts.map((s: any) => s.id)).toContain(created.id);
    const updated = await client.updateSubAccount(created.id, { name: 'Typed renamed', status: '', ipPoolId: 0 });
    expect(updated).toMatchObject({ id: created.id, subAccountName: 'Typed renamed', status: 'Active' });
  });

  it('suppression list', async () => {
    const list = await client.suppressions();
    expect(list.count).toBe(list.data.length);
  });
});
