// Builds the context and starts the roles (HTTP API, delivery worker, SMTP servers) of one Posthorn process.
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import { openStore, type Store } from './store/db.ts';
import { CommitBatcher } from './store/commit-batcher.ts';
import type { Context } from './context.ts';
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
import { submissionService } from './services/smtp-submission.ts';
import { SubmissionCommitThread } from './services/submission-commits.ts';
import { startInboundServer, type InboundServer } from './smtp/inbound-server.ts';
import { QueueFigures } from './services/queue-figures.ts';
import { Readiness } from './services/readiness.ts';
import { createMetricsRegistry } from './services/ops-metrics.ts';
import { startMetricsListener, type MetricsListener } from './http/metrics-listener.ts';
import { createSignInLink } from './services/dashboard-sessions.ts';
import { parseApiKey } from './domain/api-key-format.ts';
import { ShutdownSteps } from './shutdown-steps.ts';

/** The dashboard's address; on the first start (a key was just made) with a one-time sign-in token in its fragment. */
async function dashboardLink(ctx: Context, base: string, firstKey: string | null): Promise<string> {
  const keyId = firstKey ? parseApiKey(firstKey)?.id : undefined;
  if (!keyId) return `${base}/`;
  // The fragment never reaches a server log or a Referer header.
  return `${base}/sign-in#token=${await createSignInLink(ctx, keyId)}`;
}

export interface Posthorn {
  ctx: Context;
  url: string | null;
  /** The SMTP submission server, when this process runs it (role all or smtp, port not 0). */
  smtp: SubmissionServer | null;
  /** The inbound receiver of the return path, when this process runs it (role all or smtp, port not 0). */
  inbound: InboundServer | null;
  firstKey: string | null;
  /** Where the dashboard is; at first start a one-time link that signs the operator in. */
  dashboardUrl: string | null;
  http: FastifyInstance | null;
  worker: DeliveryWorker | null;
  /** The listener of its own for /metrics, /healthz, /readyz (POSTHORN_METRICS_PORT set). */
  metrics: MetricsListener | null;
  /** Wakes this process's worker and fan-out (after an accept in another process of the machine). */
  notifyAccepted(): void;
  /** What a close in progress is waiting for (e.g. `worker`); null when not closing or done. */
  readonly closingStep: string | null;
  close(): Promise<void>;
}

/**
 * Which part of its role a process runs. `whole`: everything (one process). With
 * `POSTHORN_API_PROCESSES`, the primary is the `back` (delivery worker, fan-out, webhooks, the
 * inbound receiver) and each forked process a `front` (the HTTP API and the SMTP submission server
 * of the role, sharing their ports through node:cluster).
 */
export type ProcessPart = 'whole' | 'front' | 'back';

export interface StartOptions {
  log?: Logger;
  part?: ProcessPart;
  /** Called after an accept (a 2xx POST, a queued submission) when no worker runs in this process (a front). */
  onAccepted?: () => void;
}

export async function startPosthorn(config: Config, opts: StartOptions = {}): Promise<Posthorn> {
  const log = opts.log ?? createLogger(config.logLevel);
  const part = opts.part ?? 'whole';
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
  if ((config.role === 'all' || config.role === 'worker') && part !== 'front') {
    const transport: Transport | null =
      config.delivery === 'relay'
        ? createRelayTransport(config.relays, {
            log,
            timeoutMs: config.worker.smtpTimeoutMs,
            transactionTimeoutMs: config.worker.smtpTransactionTimeoutMs,
            maxConnections: config.relayConnections,
          })
        : config.delivery === 'mx'
          ? createMxTransport({
              mx: config.mx,
              hostname: config.hostname,
              dnsServers: config.dnsServers,
              timeoutMs: config.worker.smtpTimeoutMs,
              transactionTimeoutMs: config.worker.smtpTransactionTimeoutMs,
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

  // /healthz, /readyz, /metrics: on the API port, and on a port of their own when one is set.
  const figures = new QueueFigures(ctx);
  const deliveryWorker = worker;
  const ops = {
    readiness: new Readiness({
      ctx,
      health: store.health,
      workerRunning: deliveryWorker ? () => deliveryWorker.isRunning : undefined,
    }),
    registry: createMetricsRegistry({ figures, health: store.health }),
    metricsToken: config.ops.metricsToken,
    figures,
    metricsOnApiPort: config.ops.metricsPort === null,
  };

  let http: FastifyInstance | null = null;
  let url: string | null = null;
  if ((config.role === 'all' || config.role === 'api') && part !== 'back') {
    http = await buildHttpServer(ctx, ops);
    const w = worker;
    // A committed accept wakes the worker in this process at once (or in another, through onAccepted).
    const wake = w
      ? () => {
          w.notify();
          fanout?.notify();
        }
      : opts.onAccepted;
    if (wake) {
      http.addHook('onResponse', async (request, reply) => {
        if (request.method === 'POST' && reply.statusCode >= 200 && reply.statusCode < 300) wake();
      });
    }
    await http.listen({ port: config.port, host: config.host });
    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  }
  const dashboardUrl = url && (await dashboardLink(ctx, config.port === 0 ? url : config.publicUrl, firstKey));

  let smtp: SubmissionServer | null = null;
  let submissionCommits: SubmissionCommitThread | null = null;
  if ((config.role === 'all' || config.role === 'smtp') && config.smtp.port !== null && part !== 'back') {
    // A process that only takes submissions on a SQLite file commits them in a thread of their own
    // (services/submission-commits.ts). Where the same process also delivers or serves HTTP, its
    // event loop writes the same file, and the two connections would take turns at the write lock.
    if (config.role === 'smtp' && store.dialect === 'sqlite' && !config.databaseUrl.endsWith(':memory:')) {
      submissionCommits = new SubmissionCommitThread({ config, secret, log });
      submissionCommits.start();
      ctx.submissionCommits = submissionCommits;
    }
    const w = worker;
    // A committed submission wakes the worker in this process at once (or in another, through onAccepted).
    smtp = await startSubmissionServer(ctx, submissionService(ctx), {
      onAccepted: w ? () => w.notify() : opts.onAccepted,
    });
  }
  let inbound: InboundServer | null = null;
  if ((config.role === 'all' || config.role === 'smtp') && config.inbound.port !== null && part !== 'front')
    inbound = await startInboundServer(ctx);

  const metrics =
    config.ops.metricsPort === null
      ? null
      : await startMetricsListener(ops, {
          port: config.ops.metricsPort,
          host: config.ops.metricsHost,
          onError: (error) => log.error({ err: error }, 'metrics listener: could not answer'),
        });

  const shutdown = new ShutdownSteps(log);
  return {
    ctx,
    url,
    smtp,
    inbound,
    firstKey,
    dashboardUrl,
    http,
    worker,
    metrics,
    notifyAccepted() {
      worker?.notify();
      fanout?.notify();
    },
    get closingStep() {
      return shutdown.current;
    },
    close() {
      return shutdown.all([
        ['metrics', () => metrics?.close()],
        ['smtp submission', () => smtp?.close()],
        ['submission commits', () => submissionCommits?.close()],
        ['inbound', () => inbound?.close()],
        ['http', () => http?.close()],
        ['fanout', () => fanout?.stop()],
        ['worker', () => worker?.stop()],
        ['webhooks', () => webhooks?.stop()],
        ['build threads', () => buildPool.close()],
        ['store', () => store.close()],
      ]);
    },
  };
}
