// The typed configuration, read once at start from the settings declared in config/settings.ts.
// A bad value stops the start with a message naming the variable, never a stack trace.
// This is the only module that reads the environment (process.env), and only as loadConfig's default.
import path from 'node:path';
import { ConfigError, type Env } from './config/setting.ts';
import {
  delivery,
  limits,
  server,
  store,
  suppression,
  webhooks,
  worker,
  type DELIVERY_MODES,
  type ROLES,
} from './config/settings.ts';
import type { RelayConfig } from './config/parsers.ts';
import type { SuppressionPolicy } from './domain/suppression-policy.ts';

export { ConfigError } from './config/setting.ts';
export { parseDuration } from './config/setting.ts';
export { parseRelays, type RelayConfig } from './config/parsers.ts';

export type DeliveryMode = (typeof DELIVERY_MODES)[number];
export type Role = (typeof ROLES)[number];

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
  requireVerifiedDomain: boolean;
  returnPathDomain: string | null;
  spfInclude: string;
  role: Role;
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
  };
  idempotencyTtlSeconds: number;
  quotas: { dailyLimit: number; monthlyLimit: number }; // 0 = unlimited
  secret: string | null; // signing secret; generated and stored in the database when unset
  /** Marketing API requests per API key and minute; 0 turns the limit off. */
  rateLimitPerMinute: number;
  /** Marketing API requests in flight per API key; 0 turns the limit off. */
  concurrencyLimit: number;
  /** redis:// or rediss:// URL of the store the limits share across nodes; null keeps them in memory. */
  redisUrl: string | null;
  /** Largest CSV file POST /api/v1/subscribers/import accepts. */
  importMaxBytes: number;
  /** Webhook delivery: private/loopback targets allowed (tests, trusted networks), retry base, dispatcher poll. */
  webhooks: { allowPrivateTargets: boolean; retryBaseMs: number; pollMs: number };
  /** What bounces, complaints and unsubscribes do to the suppression list (src/domain/suppression-policy.ts). */
  suppression: SuppressionPolicy;
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
  if (mode === 'mx') {
    throw new ConfigError(
      'POSTHORN_DELIVERY=mx (direct MX delivery) is not available in this version yet; use capture or relay',
    );
  }
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
    requireVerifiedDomain: delivery.requireVerifiedDomain.read(env),
    returnPathDomain: delivery.returnPathDomain.read(env),
    spfInclude: delivery.spfInclude.read(env) ?? new URL(publicUrl).hostname,
    role: server.role.read(env),
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
    },
    idempotencyTtlSeconds: 24 * 3600,
    quotas: { dailyLimit: limits.dailyLimit.read(env), monthlyLimit: limits.monthlyLimit.read(env) },
    secret: server.secret.read(env),
    rateLimitPerMinute: limits.rateLimitPerMinute.read(env),
    concurrencyLimit: limits.concurrencyLimit.read(env),
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
  };
}
