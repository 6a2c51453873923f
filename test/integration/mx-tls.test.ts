// Direct MX delivery, transport security: opportunistic STARTTLS recorded on the delivery event,
// and MTA-STS (RFC 8461) with policies served over HTTPS by a local server whose certificate (like
// the exchangers') comes from a CA made up for this test. A domain whose policy is enforced never
// gets a message in clear, nor over a certificate that does not validate, nor through an exchanger
// the policy does not list: the message is deferred, then bounced when its retry window ends.
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitForTransmission, type TestServer } from '../helpers/server.ts';
import { eventsOf, sendTo, startMxWorld, waitForStatus, type MxServer, type MxWorld } from '../helpers/mx-world.ts';
import { createTestCa } from '../helpers/test-ca.ts';
import { dialectName } from '../helpers/database.ts';

const POLICY_HOST = '127.0.0.5';

describe(`mx delivery: STARTTLS and MTA-STS (${dialectName})`, () => {
  let world: MxWorld;
  let server: TestServer;
  let policyServer: https.Server;
  let verified: MxServer; // 127.0.0.2: STARTTLS, certificate for mx.secure.example from the test CA
  let plain: MxServer; // 127.0.0.3: no STARTTLS
  let wrongName: MxServer; // 127.0.0.6: STARTTLS, a certificate from the trusted CA but for another name
  let tmp: string;
  const policies = new Map<string, string>();

  /** Publishes an MTA-STS policy for `domain` (TXT id + the policy file at its policy host). */
  function publishPolicy(domain: string, mode: string, mx: string[], id = '1') {
    world.dns.setTxt(`_mta-sts.${domain}`, `v=STSv1; id=${id};`);
    world.dns.setA(`mta-sts.${domain}`, POLICY_HOST);
    policies.set(
      `mta-sts.${domain}`,
      ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), 'max_age: 86400', ''].join('\r\n'),
    );
  }

  const byRecipient = (s: MxServer, to: string) => s.messages.filter((m) => m.to.includes(to));

  beforeAll(async () => {
    const ca = createTestCa();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-mx-tls-'));
    const caFile = path.join(tmp, 'ca.pem');
    fs.writeFileSync(caFile, ca.certPem);

    world = await startMxWorld();
    const mxCert = ca.issue(['mx.secure.example', 'mx.notls.example', 'mx.badcert.example', 'mx.testing.example']);
    verified = await world.addServer('127.0.0.2', { disabledCommands: [], key: mxCert.key, cert: mxCert.cert });
    plain = await world.addServer('127.0.0.3');
    const otherCert = ca.issue(['mx.somebody-else.example']);
    wrongName = await world.addServer('127.0.0.6', { disabledCommands: [], key: otherCert.key, cert: otherCert.cert });

    const names = ['secure', 'notls', 'badcert', 'mismatch', 'testing'].map((d) => `mta-sts.${d}.example`);
    const policyCert = ca.issue(names);
    policyServer = https.createServer({ key: policyCert.key, cert: policyCert.cert }, (req, res) => {
      const policy = policies.get((req.headers.host ?? '').replace(/:\d+$/, ''));
      if (req.url !== '/.well-known/mta-sts.txt' || policy === undefined) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(policy);
    });
    await new Promise<void>((resolve) => policyServer.listen(0, POLICY_HOST, () => resolve()));

    server = await startTestServer({
      ...world.env(),
      POSTHORN_MX_CA_FILE: caFile,
      POSTHORN_MTA_STS_PORT: String((policyServer.address() as AddressInfo).port),
      POSTHORN_RETRY_SCHEDULE: '500ms',
      POSTHORN_RETRY_MAX_AGE: '3s',
    });
  });
  afterAll(async () => {
    await server?.close();
    await world?.close();
    await new Promise((r) => policyServer?.close(r));
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('uses STARTTLS when offered and records the protocol and cipher on the delivery event', async () => {
    world.route('opportunistic.example', [10, 'mx.opportunistic.example', '127.0.0.6']);
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'ann@opportunistic.example'));
    expect(m.status, m.lastResponse).toBe('delivered');
    expect(byRecipient(wrongName, 'ann@opportunistic.example')).toHaveLength(1);
    const [delivery] = (await eventsOf(server, m.id)).filter((e) => e.type === 'delivery');
    // Opportunistic TLS takes any certificate (RFC 7435), and says it was not verified.
    expect(delivery!.data.tls).toMatchObject({ protocol: expect.stringMatching(/^TLSv1\.[23]$/), verified: false });
    expect(delivery!.data.tls.cipher).toMatch(/^[A-Z0-9_-]+$/);
    expect(delivery!.data.mtaSts).toBeUndefined();
  });

  it('delivers in clear to an exchanger without STARTTLS when the domain has no policy', async () => {
    world.route('plain.example', [10, 'mx.plain.example', '127.0.0.3']);
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'ben@plain.example'));
    expect(m.status, m.lastResponse).toBe('delivered');
    const [delivery] = (await eventsOf(server, m.id)).filter((e) => e.type === 'delivery');
    expect(delivery!.data.tls).toBeUndefined();
  });

  it('delivers over verified TLS to an exchanger its enforced policy lists', async () => {
    publishPolicy('secure.example', 'enforce', ['mx.secure.example']);
    world.route('secure.example', [10, 'mx.secure.example', '127.0.0.2']);
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'cat@secure.example'));
    expect(m.status, m.lastResponse).toBe('delivered');
    expect(byRecipient(verified, 'cat@secure.example')).toHaveLength(1);
    const [delivery] = (await eventsOf(server, m.id)).filter((e) => e.type === 'delivery');
    expect(delivery!.data.tls).toMatchObject({ verified: true });
    expect(delivery!.data.mtaSts).toEqual({ mode: 'enforce', result: 'pass' });
    // The policy is cached in the database for its max_age (it outlives a restart).
    const row = await server.app.ctx.db
      .selectFrom('mta_sts_policies')
      .selectAll()
      .where('domain', '=', 'secure.example')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ policy_id: '1', mode: 'enforce' });
    expect(JSON.parse(row.mx)).toEqual(['mx.secure.example']);
    expect(Number(row.expires_at) - Number(row.fetched_at)).toBe(86_400_000);
  });

  async function expectNeverDelivered(to: string, where: MxServer, reason: RegExp) {
    const rcptBefore = where.attempts;
    const id = await sendTo(server, to);
    const deferred = await waitForStatus(server, id, 'deferred');
    expect(deferred.lastResponse).toMatch(reason);
    // Retried until the retry window (3 s here) ends, then bounced.
    const m = await waitForStatus(server, id, 'bounced');
    expect(m.attempts).toBeGreaterThan(1);
    // Nothing was sent: no message, not even a recipient named (which would be in clear).
    expect(byRecipient(where, to)).toHaveLength(0);
    expect(where.attempts).toBe(rcptBefore);
    const events = await eventsOf(server, m.id);
    expect(events.map((e) => e.type)).toContain('delay');
    expect(events.at(-1)!.data.mtaSts).toMatchObject({ mode: 'enforce', result: 'fail' });
  }

  it('never delivers in clear to an enforced domain whose exchanger offers no TLS', async () => {
    publishPolicy('notls.example', 'enforce', ['mx.notls.example']);
    world.route('notls.example', [10, 'mx.notls.example', '127.0.0.3']);
    await expectNeverDelivered('dan@notls.example', plain, /^451 4\.7\.5 MTA-STS/);
  });

  it('never delivers to an enforced domain whose exchanger has a certificate for another name', async () => {
    publishPolicy('badcert.example', 'enforce', ['mx.badcert.example']);
    world.route('badcert.example', [10, 'mx.badcert.example', '127.0.0.6']);
    await expectNeverDelivered('eli@badcert.example', wrongName, /^451 4\.7\.5 MTA-STS/);
  });

  it('never delivers to an exchanger that the enforced policy does not list', async () => {
    publishPolicy('mismatch.example', 'enforce', ['mx.elsewhere.example']);
    world.route('mismatch.example', [10, 'mx.secure.example', '127.0.0.2']);
    await expectNeverDelivered('fin@mismatch.example', verified, /matches its policy/);
  });

  it('delivers despite a failing check under a policy in testing mode, and reports the failure', async () => {
    publishPolicy('testing.example', 'testing', ['mx.testing.example']);
    world.route('testing.example', [10, 'mx.testing.example', '127.0.0.6']);
    const [m] = await waitForTransmission(server.api, await sendTo(server, 'gil@testing.example'));
    expect(m.status, m.lastResponse).toBe('delivered');
    const [delivery] = (await eventsOf(server, m.id)).filter((e) => e.type === 'delivery');
    expect(delivery!.data.mtaSts).toMatchObject({ mode: 'testing', result: 'fail' });
  });
});
