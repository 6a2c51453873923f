// The submission commit thread: a process of role smtp on a SQLite file commits SMTP submissions
// from a thread with its own connection (services/submission-commits.ts). Real server on free
// ports, nodemailer as the client, the store read back after each send.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { loadConfig, type Config } from '../../src/config.ts';
import { startPosthorn, type Posthorn } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import { SubmissionCommitThread } from '../../src/services/submission-commits.ts';
import { createTestDatabase, dialectName, type TestDatabase } from '../helpers/database.ts';

const QUEUED = /^250 2\.0\.0 Ok: queued as ([0-9a-z]+)$/;

describe(`SMTP submissions in a process of role smtp (${dialectName})`, () => {
  let db: TestDatabase;
  let app: Posthorn | null = null;
  let config: Config;

  async function start(env: Record<string, string> = {}): Promise<Posthorn> {
    config = loadConfig({
      POSTHORN_DATA_DIR: db.dataDir,
      DATABASE_URL: db.url,
      POSTHORN_ROLE: 'smtp',
      POSTHORN_SMTP_PORT: '0',
      POSTHORN_SMTP_HOST: '127.0.0.1',
      POSTHORN_SMTP_ALLOW_INSECURE_AUTH: 'true',
      POSTHORN_INBOUND_PORT: '0',
      POSTHORN_DELIVERY: 'capture',
      LOG_LEVEL: 'silent',
      ...env,
    });
    config.smtp.port = 0;
    app = await startPosthorn(config, { log: createLogger('silent') });
    return app;
  }

  const transport = (posthorn: Posthorn) =>
    nodemailer.createTransport({
      host: '127.0.0.1',
      port: posthorn.smtp!.port,
      secure: false,
      ignoreTLS: true,
      auth: { user: 'app', pass: posthorn.firstKey! },
    });

  const send = (posthorn: Posthorn, n: number) =>
    transport(posthorn).sendMail({
      from: 'Shop <orders@shop.example.org>',
      to: `buyer${n}@inbox.test`,
      subject: `Order ${n}`,
      text: `Order ${n} has shipped.`,
    });

  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await app?.close();
    app = null;
    await db.drop();
  });

  it('commits on SQLite from the commit thread, in PostgreSQL from the event loop, and answers 250 once durable', async () => {
    const posthorn = await start();
    expect(posthorn.ctx.submissionCommits instanceof SubmissionCommitThread).toBe(dialectName === 'sqlite');
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => send(posthorn, i)));
    const ids = results.map((r) => QUEUED.exec(r.response)?.[1]);
    expect(ids.every(Boolean)).toBe(true);
    // Read through the event loop's own connection: what the thread committed is there at once.
    const stored = await posthorn.ctx.db
      .selectFrom('transmissions')
      .innerJoin('messages', 'messages.transmission_id', 'transmissions.id')
      .innerJoin('transmission_mime', 'transmission_mime.transmission_id', 'transmissions.id')
      .select(['transmissions.id', 'messages.recipient', 'messages.status', 'transmission_mime.mime'])
      .execute();
    expect(stored.map((s) => s.id).sort()).toEqual([...ids].sort());
    for (const row of stored) {
      const n = /^buyer(\d+)@inbox\.test$/.exec(row.recipient)![1];
      expect(ids[Number(n)]).toBe(row.id);
      expect(row.status).toBe('queued');
      expect(Buffer.from(row.mime).toString()).toContain(`Order ${n} has shipped.`);
    }
    const usage = await posthorn.ctx.db.selectFrom('account_usage').select(['sent']).execute();
    expect(usage.reduce((a, u) => a + Number(u.sent), 0)).toBe(24);
  });

  it('commits a 6 MB message with its bytes intact', async () => {
    const posthorn = await start();
    const attachment = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < attachment.length; i++) attachment[i] = (i * 7919) % 251;
    const result = await transport(posthorn).sendMail({
      from: 'Shop <orders@shop.example.org>',
      to: 'buyer@inbox.test',
      subject: 'Invoice',
      text: 'Attached.',
      attachments: [{ filename: 'invoice.bin', content: attachment }],
    });
    const id = QUEUED.exec(result.response)![1];
    const row = await posthorn.ctx.db
      .selectFrom('transmission_mime')
      .select('mime')
      .where('transmission_id', '=', id)
      .executeTakeFirstOrThrow();
    const stored = Buffer.from(row.mime).toString('latin1');
    const base64 = stored.slice(stored.indexOf('invoice.bin'));
    const body = base64.slice(base64.indexOf('\r\n\r\n') + 4, base64.indexOf('\r\n--'));
    expect(Buffer.from(body.replace(/\r\n/g, ''), 'base64').equals(attachment)).toBe(true);
  });

  it('never accepts past the daily limit, however many sessions send at once', async () => {
    const posthorn = await start({ POSTHORN_DAILY_LIMIT: '5' });
    const outcomes = await Promise.allSettled(Array.from({ length: 9 }, (_, i) => send(posthorn, i)));
    const accepted = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as { response?: string }] : []));
    expect(accepted).toHaveLength(5);
    expect(refused).toHaveLength(4);
    for (const error of refused)
      expect(error.response).toMatch(/^451 4\.7\.1 Sending limit reached: daily sending limit of 5/);
    const stored = await posthorn.ctx.db.selectFrom('transmissions').select('id').execute();
    expect(stored).toHaveLength(5);
  });

  it.skipIf(dialectName !== 'sqlite')(
    "fails the commits of a thread that cannot open the store, and the process's own thread goes on",
    async () => {
      const posthorn = await start();
      const broken = new SubmissionCommitThread({
        config: { ...config, databaseUrl: `sqlite:${db.dataDir}/missing/dir/posthorn.db` },
        secret: posthorn.ctx.secret,
        log: createLogger('silent'),
      });
      const job = (recipient: string) => ({
        key: { id: 'k', accountId: 'a' },
        plan: {
          transmissionId: 'unused',
          accountId: 'a',
          recipients: [{ address: { email: recipient }, type: 'to' as const, data: null }],
          metadata: {},
          transactional: true,
          sandbox: false,
          dueAt: 0,
          now: 0,
        },
        content: {} as never,
        mime: Buffer.from('x'),
      });
      await expect(broken.commit(job('a@inbox.test'))).rejects.toThrow(
        /unable to open database file|directory does not exist/,
      );
      expect(broken.inFlight).toBe(0);
      await broken.close();
      // The process's own thread was not disturbed: a submission still goes through it.
      expect(QUEUED.test((await send(posthorn, 1)).response)).toBe(true);
    },
  );
});
