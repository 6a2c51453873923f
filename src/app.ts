// Builds the context and starts the roles (HTTP API, delivery worker, SMTP servers) of one Posthorn process.
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { openStore, type Store } from './store/db.ts';
import { CommitBatcher } from './store/commit-batcher.ts';
import type { Context } from './services/context.ts';
import { bootstrapFirstAccount, ensureSecret } from './services/bootstrap.ts';
import { createDnsLookup } from './services/dns.ts';
import { buildHttpServer } from './http/server.ts';
import { DeliveryWorker } from './delivery/worker.ts';
import { BuildPool } from './delivery/build-pool.ts';
import { MailingFanout } from './services/mailing-fanout.ts';
import { createRelayTransport } from './delivery/transports/relay.ts';
import { createMxTransport } from './delivery/transports/mx.ts';
import type { Transport } from './delivery/transports/transport.ts';
import { createLogger } from './log.ts';
import { WebhookDispatcher } from './events/webhook-dispatcher.ts';
import { startSubmissionServer, type SubmissionServer } from './smtp/submission-server.ts';

export interface Posthorn {
  ctx: Context;
  url: string | null;
  /** The SMTP submission server, when this process runs it (role all or smtp, port not 0). */
  smtp: SubmissionServer | null;
  firstKey: string | null;
  http: FastifyInstance | null;
  worker: DeliveryWorker | null;
  close(): Promise<void>;
}

export async function startPosthorn(config: Config, opts: { log?: Logger } = {}): Promise<Posthorn> {
  const log = opts.log ?? createLogger(config.logLevel);
  if (config.databaseUrl.startsWith('sqlite:')) fs.mkdirSync(config.dataDir, { recursive: true });
  const store: Store = await openStore(config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    sqliteCacheMb: config.sqliteCacheMb,
    health: {
      // A lost connection is usually a restart or failover that heals itself; a full disk needs someone.
      unavailable: (description, fault, error) =>
        log[fault === 'storage' ? 'error' : 'warn']({ err: error }, `database unavailable: ${description}`),
      available: (downMs) => log.info({ downMs }, 'database available again'),
    },
  });
  const secret = await ensureSecret(store.db, config.secret);
  const ctx: Context = {
    db: store.db,
    dialect: store.dialect,
    batcher: new CommitBatcher(store.db, { windowMs: config.groupCommitMs }),
    clock: Date.now,
    config,
    log,
    secret,
    dns: createDnsLookup(config.dnsServers),
  };
  // Messages are built and templates checked off the event loop.
  const buildPool = new BuildPool({
    threads: config.rendering.buildThreads,
    buildTimeoutMs: config.rendering.buildTimeoutMs,
    limits: config.rendering.limits,
    tracking: { secret, publicUrl: config.publicUrl },
    log,
  });
  ctx.templateChecks = buildPool;
  if (config.role !== 'smtp') buildPool.start();
  const { key: firstKey } = await bootstrapFirstAccount(ctx);

  let worker: DeliveryWorker | null = null;
  let fanout: MailingFanout | null = null;
  let webhooks: WebhookDispatcher | null = null;
  if (config.role === 'all' || config.role === 'worker') {
    const transport: Transport | null =
      config.delivery === 'relay'
        ? createRelayTransport(config.relays, {
            log,
            timeoutMs: config.worker.smtpTimeoutMs,
            maxConnections: config.relayConnections,
          })
        : config.delivery === 'mx'
          ? createMxTransport({
              mx: config.mx,
              hostname: config.hostname,
              dnsServers: config.dnsServers,
              timeoutMs: config.worker.smtpTimeoutMs,
              log,
              db: store.db,
            })
          : null;
    worker = new DeliveryWorker(ctx, transport, buildPool);
    await worker.start();
    const w = worker;
    fanout = new MailingFanout(ctx, () => w.notify(), MailingFanout.optionsFor(ctx));
    await fanout.start();
    webhooks = new WebhookDispatcher(ctx);
    webhooks.start();
  }

  let http: FastifyInstance | null = null;
  let url: string | null = null;
  if (config.role === 'all' || config.role === 'api') {
    http = await buildHttpServer(ctx);
    if (worker) {
      const w = worker;
      // A committed accept wakes the worker in this process at once.
      http.addHook('onResponse', async (request, reply) => {
        if (request.method === 'POST' && reply.statusCode >= 200 && reply.statusCode < 300) {
          w.notify();
          fanout?.notify();
        }
      });
    }
    await http.listen({ port: config.port, host: config.host });
    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  }

  let smtp: SubmissionServer | null = null;
  if ((config.role === 'all' || config.role === 'smtp') && config.smtp.port !== null) {
    const w = worker;
    // A committed submission wakes the worker in this process at once.
    smtp = await startSubmissionServer(ctx, { onAccepted: () => w?.notify() });
  }

  return {
    ctx,
    url,
    smtp,
    firstKey,
    http,
    worker,
    async close() {
      await smtp?.close();
      await http?.close();
      await fanout?.stop();
      await worker?.stop();
      await webhooks?.stop();
      await buildPool.close();
      await store.close();
    },
  };
}
