// PostgreSQL stopped and started in the middle of a mailing. The test runs a cluster of its own
// (own data directory and port) so that it can stop it; Posthorn runs in this process, so an
// unhandled 'error' event would end the test. While the database is down, API calls get 503 with
// Retry-After in their surface's dialect (and a public page the friendly 503 page); once it is
// back, the mailing completes on its own and every recipient got exactly one message by Message-ID.
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { startPosthorn, type Posthorn } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import { sealToken } from '../../src/domain/tokens.ts';
import { ApiClient, waitFor } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { seedReadySubscribers, sendMailingToAll } from '../helpers/mailing-fixtures.ts';
import { pgClusterUnavailableReason, startPgCluster, type PgCluster } from '../helpers/pg-cluster.ts';
import { findAccountByIntId } from '../../src/store/accounts.ts';

// About 20 s on a quiet two-core machine; the generous time limits are for a busy one.
const RECIPIENTS = 3000;
const OUTAGE_MS = 3000;

const noCluster = pgClusterUnavailableReason();
if (noCluster) console.warn(`faults-postgres-restart is skipped: ${noCluster}`);

describe.skipIf(noCluster !== null)('a PostgreSQL restart in the middle of a mailing', () => {
  let cluster: PgCluster | undefined;
  let sink: SmtpSink | undefined;
  let app: Posthorn | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-test-'));

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await sink?.close();
    await cluster?.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    `delivers each of ${RECIPIENTS} recipients once and answers 503 while the database is down`,
    { timeout: 180_000 },
    async () => {
      cluster = await startPgCluster();
      sink = await startSmtpSink();
      const config = loadConfig({
        DATABASE_URL: cluster.url,
        POSTHORN_DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        POSTHORN_WORKER_POLL_MS: '20',
        POSTHORN_DELIVERY: 'relay',
        POSTHORN_RELAYS: sink.url,
        POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
        POSTHORN_INBOUND_PORT: '0', // the inbound receiver's default port is fixed
        // Outcomes known while the database is down wait up to half a lease for it (see outcome-recorder.ts).
        POSTHORN_LEASE_SECONDS: '30',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      });
      app = await startPosthorn(config, { log: createLogger(config.logLevel) });
      const api = new ApiClient(app.url!, app.firstKey);
      const accountIntId = (await api.get('/api/v1/whoami')).body.data.id as number;
      const subscriberIds = await seedReadySubscribers(app.ctx.db, accountIntId, RECIPIENTS);
      const accountId = (await findAccountByIntId(app.ctx.db, accountIntId))!.id;
      const mailingId = await sendMailingToAll(api, 'Across a restart');

      // Stop the database mid-send.
      await sink.waitForCount(RECIPIENTS / 5, 60_000);
      await cluster.stop();
      const stoppedAt = Date.now();
      expect(sink.messages.length).toBeLessThan(RECIPIENTS);

      // While it is down: each surface answers 503 with Retry-After, in its own dialect.
      const marketing = await api.get(`/api/v1/mailings/${mailingId}`);
      expect(marketing.status, marketing.text).toBe(503);
      expect(Number(marketing.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(marketing.body).toEqual({
        status: 'error',
        code: 1001,
        message: 'Service unavailable.',
        errors: [],
        statusCode: 503,
      });
      const transactional = await api.post('/v1/layang/transmissions', {
        from: { email: 'sender@example.com' },
        to: [{ email: 'during-outage@example.org' }],
        subject: 'During the outage',
        bodyText: 'Hello',
      });
      expect(transactional.status, transactional.text).toBe(503);
      expect(Number(transactional.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(transactional.body).toEqual({
        errors: [{ message: 'service unavailable', code: '1503', description: expect.stringContaining('database') }],
        message: expect.stringContaining('database'),
      });
      const token = sealToken(app.ctx.secret, {
        purpose: 'preferences',
        accountId,
        subscriberId: subscriberIds[0],
        exp: Date.now() + 3_600_000,
      });
      const page = await fetch(`${app.url}/p/preferences/${token}`, { headers: { 'accept-language': 'en' } });
      expect(page.status).toBe(503);
      expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('Temporarily unavailable');

      await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
      await cluster.start();

      // The mailing completes on its own: every recipient once, by Message-ID.
      await sink.waitForCount(RECIPIENTS, 120_000);
      await waitFor(
        async () => {
          const res = await api.get(`/api/v1/mailings/${mailingId}`);
          return res.status === 200 && res.body.data.status === 'sent';
        },
        30_000,
        'the mailing to be sent',
      );
      await new Promise((r) => setTimeout(r, 500)); // a late duplicate would arrive now
      const byRecipient = new Map<string, Set<string>>();
      for (const m of sink.messages) byRecipient.set(m.to[0], (byRecipient.get(m.to[0]) ?? new Set()).add(m.messageId));
      expect(byRecipient.size).toBe(RECIPIENTS);
      expect([...byRecipient].filter(([, ids]) => ids.size !== 1)).toEqual([]);
      // Not even the allowed duplicate: outcomes learnt during the outage waited for the database.
      expect(sink.messages.length).toBe(RECIPIENTS);
      expect((await api.get('/v1/account')).status).toBe(200);
    },
  );
});
