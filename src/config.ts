// The typed configuration, read once at start from the settings declared in config/settings.ts.
// A bad value stops the start with a message naming the variable, never a stack trace.
// This is the only module that reads the environment (process.env), and only as loadConfig's default.
import path from 'node:path';
import { ConfigError, type Env } from './config/setting.ts';
import {
  delivery,
  mx,
  limits,
  loadShedding,
  ops,
  server,
  smtp,
  inbound,
  store,
  suppression,
  webhooks,
  worker,
  rendering,
  type DELIVERY_MODES,
  type ROLES,
} from './config/settings.ts';
import type { RelayConfig } from './config/parsers.ts';
import { machineHostname, type LocalAddresses } from './config/mx-parsers.ts';
import type { DomainLimits } from './domain/domain-limits.ts';
import type { SuppressionPolicy } from './domain/suppression-policy.ts';
import type { RenderLimits } from './domain/render.ts';
import os from 'node:os';

export { ConfigError } from './config/setting.ts';
export { parseDuration } from './config/setting.ts';
export { parseRelays, type RelayConfig } from './config/parsers.ts';

export type DeliveryMode = (typeof DELIVERY_MODES)[number];
export type Role = (typeof ROLES)[number];

/** Direct delivery to the recipients' mail exchangers (POSTHORN_DELIVERY=mx). */
export interface MxConfig {
  /** Port every MX is reached on: 25, or a test/staging port. */
  port: number;
  /** Local addresses to send from: a round-robin pool, and fixed ones per sending (From) domain. */
  localAddresses: LocalAddresses;
  domainLimits: DomainLimits;
  /** Our ceiling on MTA-STS: honour the domains' policies, only report on them, or ignore them. */
  mtaSts: 'enforce' | 'testing' | 'off';
  /** Port of the HTTPS policy hosts (443; tests point it at a local server). */
  mtaStsPort: number;
  /** PEM file of extra CAs trusted (besides the system's) for policy hosts and MX certificates. */
  caFile: string | null;
  /** Connect over IPv6: when the host has a global IPv6 address (auto), always, or never. */
  ipv6: 'auto' | 'on' | 'off';
}

export interface Config {
  dataDir: string;
  host: string;
  port: number;
  publicUrl: string;
  databaseUrl: string; // 'sqlite:<file>' or 'postgres://…'
  sqliteSynchronous: 'FULL' | 'NORMAL';
  sqliteCacheMb: number;
  /** How long the first write after a commit waits for others to share its transaction. */
  groupCommitMs: number;
  delivery: DeliveryMode;
  relays: RelayConfig[];
  /** Pooled SMTP connections per relay. */
  relayConnections: number;
  dnsServers: string[];
  /** The name this host gives in EHLO. */
  hostname: string;
  mx: MxConfig;
  /** New sending domains get an Ed25519 DKIM key (a second signature, RFC 8463) unless asked otherwise. */
  dkimEd25519: boolean;
  requireVerifiedDomain: boolean;
  returnPathDomain: string | null;
  spfInclude: string;
  role: Role;
  /** HTTP API processes to run on this machine (node:cluster); honoured on PostgreSQL only. */
  apiProcesses: number;
  logLevel: string;
  /** Take the client IP from X-Forwarded-For (behind a reverse proxy). */
  trustProxy: boolean;
  maxBodyBytes: number;
  maxRecipients: number;
  worker: {
    batchSize: number;
    concurrency: number;
    pollMs: number;
    leaseSeconds: number;
    retrySchedule: number[]; // seconds
    retryMaxAgeSeconds: number;
    smtpTimeoutMs: number;
    /** The longest one outgoing transaction may take (a trickling next hop is cut off then). */
    smtpTransactionTimeoutMs: number;
    /** How long a stop waits for messages in flight before it aborts their transactions. */
    shutdownGraceMs: number;
  };
  idempotencyTtlSeconds: number;
  quotas: { dailyLimit: number; monthlyLimit: number; sandboxDailyLimit: number }; // 0 = unlimited
  secret: string | null; // signing secret; generated and stored in the database when unset
  /** Marketing API requests per API key and minute; 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** Marketing API requests in flight per API key; 0 turns the limit off. */
  concurrencyLimit: number;
  /** Transactional API (/v1) requests per API key, per second and per minute; 0 turns either off. */
  v1RateLimit: { perSecond: number; perMinute: number };
  /** The brute-force lock per surface and client IP (domain/brute-force.ts); false turns it off. */
  authLock: boolean;
  /**
   * Load shedding: API requests beyond these bounds get 503 + Retry-After at once instead of
   * waiting in an ever longer queue. 0 turns a bound off.
   */
  loadShedding: { maxInFlight: number; maxEventLoopDelayMs: number; retryAfterSeconds: number };
  /** redis:// or rediss:// URL of the store the limits share across nodes; null keeps them in memory. */
  redisUrl: string | null;
  /** Largest CSV file POST /api/v1/subscribers/import accepts. */
  importMaxBytes: number;
  /** Webhook delivery: private/loopback targets allowed (tests, trusted networks), retry base, dispatcher poll. */
  webhooks: { allowPrivateTargets: boolean; retryBaseMs: number; pollMs: number };
  /** What bounces, complaints and unsubscribes do to the suppression list (src/domain/suppression-policy.ts). */
  suppression: SuppressionPolicy;
  smtp: SmtpSubmissionConfig;
  inbound: InboundConfig;
  /** /healthz, /readyz and /metrics (README, "Operations"). */
  ops: OpsConfig;
  rendering: RenderingConfig;
}

export interface OpsConfig {
  /** The listener of its own for /metrics, /healthz, /readyz; null: none (the API port serves /metrics). */
  metricsPort: number | null;
  metricsHost: string;
  /** Bearer token /metrics asks for; null: open. */
  metricsToken: string | null;
}

/** Template limits, the accept-time budget and the build threads (see delivery/build-pool.ts). */
export interface RenderingConfig {
  limits: RenderLimits;
  acceptBudgetMs: number;
  buildThreads: number;
  buildTimeoutMs: number;
}

/** The SMTP submission server (see README, "SMTP submission"). */
export interface SmtpSubmissionConfig {
  /** null: the server is off (POSTHORN_SMTP_PORT=0); tests set 0 here for any free port. */
  port: number | null;
  host: string;
  /** PEM files; both null: a self-signed certificate kept in the data directory. */
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  /** AUTH before STARTTLS (plain loopback for local apps and tests). */
  allowInsecureAuth: boolean;
  /** Largest message accepted, announced with SIZE. */
  maxMessageBytes: number;
}

/** The inbound SMTP receiver of the return path (bounces, complaints, mailto unsubscribes). */
export interface InboundConfig {
  /** null: off (POSTHORN_INBOUND_PORT=0); tests set 0 here for any free port. */
  port: number | null;
  host: string;
  maxMessageBytes: number;
}

const MB = 1024 * 1024;

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(server.dataDir.read(env));
  const port = server.port.read(env);
  const publicUrl = checkPublicUrl(server.publicUrl.read(env) ?? `http://localhost:${port}`);
  const databaseUrl = store.databaseUrl.read(env) ?? `sqlite:${path.join(dataDir, 'posthorn.db')}`;
  const sqliteSynchronous = store.sqliteSynchronous.read(env);

  const mode = delivery.mode.read(env);
  const relays = delivery.relays.read(env);
  if (mode === 'relay' && relays.length === 0) {
    throw new ConfigError('POSTHORN_DELIVERY=relay needs POSTHORN_RELAYS, e.g. smtp://user:pass@smtp.example.com:587');
  }

  return {
    dataDir,
    host: server.host.read(env),
    port,
    publicUrl,
    databaseUrl,
    sqliteSynchronous,
    sqliteCacheMb: store.sqliteCacheMb.read(env),
    groupCommitMs:
      store.groupCommitMs.read(env) ?? (databaseUrl.startsWith('sqlite:') && sqliteSynchronous === 'FULL' ? 3 : 0),
    delivery: mode,
    relays,
    relayConnections: delivery.relayConnections.read(env),
    dnsServers: delivery.dnsServers.read(env),
    hostname: mx.hostname.read(env) ?? machineHostname(),
    mx: {
      port: mx.port.read(env),
      localAddresses: mx.localAddresses.read(env),
      domainLimits: mx.domainLimits.read(env),
      mtaSts: mx.mtaSts.read(env),
      mtaStsPort: mx.mtaStsPort.read(env),
      caFile: mx.caFile.read(env),
      ipv6: mx.ipv6.read(env),
    },
    dkimEd25519: mx.dkimEd25519.read(env),
    requireVerifiedDomain: delivery.requireVerifiedDomain.read(env),
    returnPathDomain: delivery.returnPathDomain.read(env),
    spfInclude: delivery.spfInclude.read(env) ?? new URL(publicUrl).hostname,
    role: server.role.read(env),
    apiProcesses: server.apiProcesses.read(env),
    logLevel: server.logLevel.read(env),
    trustProxy: server.trustProxy.read(env),
    maxBodyBytes: limits.maxBodyMb.read(env) * MB,
    maxRecipients: limits.maxRecipients.read(env),
    worker: {
      batchSize: worker.batchSize.read(env),
      concurrency: worker.concurrency.read(env),
      pollMs: worker.pollMs.read(env),
      leaseSeconds: worker.leaseSeconds.read(env),
      retrySchedule: worker.retrySchedule.read(env),
      retryMaxAgeSeconds: worker.retryMaxAgeSeconds.read(env),
      smtpTimeoutMs: delivery.smtpTimeoutMs.read(env),
      smtpTransactionTimeoutMs: delivery.smtpTransactionTimeoutMs.read(env),
      shutdownGraceMs: worker.shutdownGraceMs.read(env),
    },
    idempotencyTtlSeconds: 24 * 3600,
    quotas: {
      dailyLimit: limits.dailyLimit.read(env),
      monthlyLimit: limits.monthlyLimit.read(env),
      sandboxDailyLimit: limits.sandboxDailyLimit.read(env),
    },
    secret: server.secret.read(env),
    rateLimitPerMinute: limits.rateLimitPerMinute.read(env),
    concurrencyLimit: limits.concurrencyLimit.read(env),
    v1RateLimit: { perSecond: limits.v1RatePerSecond.read(env), perMinute: limits.v1RatePerMinute.read(env) },
    authLock: limits.authLock.read(env),
    loadShedding: {
      maxInFlight: loadShedding.maxInFlight.read(env),
      maxEventLoopDelayMs: loadShedding.maxEventLoopDelayMs.read(env),
      retryAfterSeconds: loadShedding.retryAfterSeconds.read(env),
    },
    redisUrl: store.redisUrl.read(env),
    importMaxBytes: limits.importMaxMb.read(env) * MB,
    webhooks: {
      allowPrivateTargets: webhooks.allowPrivateTargets.read(env),
      retryBaseMs: webhooks.retryBaseMs.read(env),
      pollMs: webhooks.pollMs.read(env),
    },
    suppression: {
      hardBounces: suppression.hardBounces.read(env),
      complaints: suppression.complaints.read(env),
      unsubscribes: suppression.unsubscribes.read(env),
      softBounceLimit: suppression.softBounceLimit.read(env),
    },
    smtp: readSmtpSubmission(env),
    inbound: {
      port: inbound.port.read(env) || null,
      host: inbound.host.read(env),
      maxMessageBytes: inbound.maxMessageMb.read(env) * MB,
    },
    ops: {
      metricsPort: ops.metricsPort.read(env) || null,
      metricsHost: ops.metricsHost.read(env) ?? server.host.read(env),
      metricsToken: ops.metricsToken.read(env),
    },
    rendering: {
      limits: {
        parseLimit: rendering.liquidParseLimit.read(env),
        renderLimitMs: rendering.liquidRenderLimitMs.read(env),
        memoryLimit: rendering.liquidMemoryLimit.read(env),
      },
      acceptBudgetMs: rendering.acceptRenderBudgetMs.read(env),
      buildThreads: rendering.buildThreads.read(env) ?? Math.max(1, os.availableParallelism() - 1),
      buildTimeoutMs: rendering.buildTimeoutMs.read(env),
    },
  };
}

function readSmtpSubmission(env: Env): SmtpSubmissionConfig {
  const port = smtp.port.read(env);
  const cert = smtp.tlsCert.read(env);
  const key = smtp.tlsKey.read(env);
  if ((cert === null) !== (key === null))
    throw new ConfigError('POSTHORN_SMTP_TLS_CERT and POSTHORN_SMTP_TLS_KEY must be set together (PEM file paths)');
  return {
    port: port === 0 ? null : port,
    host: smtp.host.read(env),
    tlsCertFile: cert === null ? null : path.resolve(cert),
    tlsKeyFile: key === null ? null : path.resolve(key),
    allowInsecureAuth: smtp.allowInsecureAuth.read(env),
    maxMessageBytes: (smtp.maxMessageMb.read(env) ?? limits.maxBodyMb.read(env)) * MB,
  };
}

function checkPublicUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** The process environment with some settings replaced (the CLI's `--role`, say). */
export function environment(overrides: Env = {}): Env {
  return { ...process.env, ...overrides };
}

/** The configuration with its secrets hidden (signing secret, passwords in URLs), for printing. */
export function redacted(config: Config): Config {
  const hidePassword = (url: string) => url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  return {
    ...config,
    secret: config.secret === null ? null : '***',
    databaseUrl: hidePassword(config.databaseUrl),
    redisUrl: config.redisUrl === null ? null : hidePassword(config.redisUrl),
    relays: config.relays.map((r) => ({ ...r, ...(r.pass === undefined ? {} : { pass: '***' }) })),
    ops: { ...config.ops, metricsToken: config.ops.metricsToken === null ? null : '***' },
  };
}
