// Every setting Posthorn reads, read once from the environment, typed and validated.
// A bad value stops the start with a message naming the variable, never a stack trace.
import os from 'node:os';
import path from 'node:path';
import { isIP } from 'node:net';
import { DomainLimitsError, parseDomainLimits, type DomainLimits } from './domain/domain-limits.ts';

export type DeliveryMode = 'capture' | 'relay' | 'mx';
export type Role = 'all' | 'api' | 'worker';

export interface RelayConfig {
  url: string;
  secure: boolean; // smtps:// (implicit TLS)
  host: string;
  port: number;
  user?: string;
  pass?: string;
  /** STARTTLS policy for smtp:// relays: require it, use it when offered, or never. */
  starttls: 'require' | 'opportunistic' | 'off';
  rejectUnauthorized: boolean;
}

/** Direct delivery to the recipients' mail exchangers (POSTHORN_DELIVERY=mx). */
export interface MxConfig {
  /** Port every MX is reached on: 25, or a test/staging port. */
  port: number;
  /** Local addresses to send from: a round-robin pool, and fixed ones per sending (From) domain. */
  localAddresses: { pool: string[]; bySender: Map<string, string> };
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
  /** The name this host gives in EHLO (and as the MTA in its own headers). */
  hostname: string;
  mx: MxConfig;
  /** New sending domains get an Ed25519 DKIM key (a second signature, RFC 8463) unless asked otherwise. */
  dkimEd25519: boolean;
  requireVerifiedDomain: boolean;
  returnPathDomain: string | null;
  spfInclude: string;
  role: Role;
  logLevel: string;
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
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

/** Parses "30s", "5m", "1h", "2d" or plain seconds. */
export function parseDuration(raw: string, name: string): number {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(raw);
  if (!m) throw new ConfigError(`${name}: "${raw}" is not a duration like 30s, 5m, 1h or 2d`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[unit]!;
  return n * factor;
}

export function parseRelays(raw: string | undefined): RelayConfig[] {
  if (!raw || !raw.trim()) return [];
  return raw.split(',').map((part) => {
    const text = part.trim();
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError(`POSTHORN_RELAYS: "${text}" is not a URL like smtp://user:pass@host:587`);
    }
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
      throw new ConfigError(`POSTHORN_RELAYS: "${text}" must start with smtp:// or smtps://`);
    }
    if (!url.hostname) throw new ConfigError(`POSTHORN_RELAYS: "${text}" has no host`);
    const secure = url.protocol === 'smtps:';
    const port = url.port ? Number(url.port) : secure ? 465 : 587;
    const starttls = url.searchParams.get('starttls') ?? 'opportunistic';
    if (!['require', 'opportunistic', 'off'].includes(starttls)) {
      throw new ConfigError(`POSTHORN_RELAYS: starttls must be require, opportunistic or off in "${text}"`);
    }
    const reject = url.searchParams.get('rejectUnauthorized');
    return {
      url: `${url.protocol}//${url.hostname}:${port}`,
      secure,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      user: url.username ? decodeURIComponent(url.username) : undefined,
      pass: url.password ? decodeURIComponent(url.password) : undefined,
      starttls: starttls as RelayConfig['starttls'],
      rejectUnauthorized: reject === null ? true : !/^(0|false|no)$/i.test(reject),
    };
  });
}

function parseDnsServers(raw: string | undefined): string[] {
  if (!raw || !raw.trim()) return [];
  return raw.split(',').map((s) => {
    const v = s.trim();
    if (!/^(\d{1,3}(\.\d{1,3}){3}(:\d+)?|\[[0-9a-fA-F:]+\](:\d+)?|[0-9a-fA-F:]+)$/.test(v)) {
      throw new ConfigError(`POSTHORN_DNS_SERVERS: "${v}" is not an IP address (optionally with :port)`);
    }
    return v;
  });
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(env.POSTHORN_DATA_DIR || './data');
  const port = int(env, 'PORT', 8025, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  let publicUrl = env.PUBLIC_URL || `http://localhost:${port}`;
  try {
    const u = new URL(publicUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    publicUrl = publicUrl.replace(/\/+$/, '');
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an http(s) URL, got "${publicUrl}"`);
  }

  let databaseUrl = env.DATABASE_URL || `sqlite:${path.join(dataDir, 'posthorn.db')}`;
  if (!/^(postgres|postgresql):\/\//.test(databaseUrl) && !databaseUrl.startsWith('sqlite:')) {
    throw new ConfigError(`DATABASE_URL must start with postgres:// or sqlite:, got "${databaseUrl}"`);
  }
  if (databaseUrl.startsWith('postgresql://')) databaseUrl = databaseUrl.replace(/^postgresql:/, 'postgres:');

  const delivery = (env.POSTHORN_DELIVERY || 'capture') as DeliveryMode;
  if (!['capture', 'relay', 'mx'].includes(delivery)) {
    throw new ConfigError(`POSTHORN_DELIVERY must be capture, relay or mx, got "${delivery}"`);
  }
  const relays = parseRelays(env.POSTHORN_RELAYS);
  if (delivery === 'relay' && relays.length === 0) {
    throw new ConfigError('POSTHORN_DELIVERY=relay needs POSTHORN_RELAYS, e.g. smtp://user:pass@smtp.example.com:587');
  }

  const role = (env.POSTHORN_ROLE || 'all') as Role;
  if (!['all', 'api', 'worker'].includes(role))
    throw new ConfigError(`POSTHORN_ROLE must be all, api or worker, got "${role}"`);

  const sync = (env.POSTHORN_SQLITE_SYNCHRONOUS || 'FULL').toUpperCase();
  if (sync !== 'FULL' && sync !== 'NORMAL') throw new ConfigError('POSTHORN_SQLITE_SYNCHRONOUS must be FULL or NORMAL');

  const retrySchedule = (env.POSTHORN_RETRY_SCHEDULE || '1m,5m,15m,1h,4h,8h')
    .split(',')
    .map((d) => parseDuration(d, 'POSTHORN_RETRY_SCHEDULE'));

  const secret = env.POSTHORN_SECRET || null;
  if (secret !== null && secret.length < 32) throw new ConfigError('POSTHORN_SECRET must be at least 32 characters');

  return {
    dataDir,
    host,
    port,
    publicUrl,
    databaseUrl,
    sqliteSynchronous: sync,
    sqliteCacheMb: int(env, 'POSTHORN_SQLITE_CACHE_MB', 64, 2, 65536),
    groupCommitMs: int(
      env,
      'POSTHORN_GROUP_COMMIT_MS',
      databaseUrl.startsWith('sqlite:') && sync === 'FULL' ? 3 : 0,
      0,
      100,
    ),
    delivery,
    relays,
    relayConnections: int(env, 'POSTHORN_RELAY_CONNECTIONS', 32, 1, 1000),
    dnsServers: parseDnsServers(env.POSTHORN_DNS_SERVERS),
    hostname: parseHostname(env.POSTHORN_HOSTNAME),
    mx: parseMxConfig(env),
    dkimEd25519: bool(env, 'POSTHORN_DKIM_ED25519', false),
    requireVerifiedDomain: bool(env, 'POSTHORN_REQUIRE_VERIFIED_DOMAIN', true),
    returnPathDomain: env.POSTHORN_RETURN_PATH_DOMAIN || null,
    spfInclude: env.POSTHORN_SPF_INCLUDE || new URL(publicUrl).hostname,
    role,
    logLevel: env.LOG_LEVEL || 'info',
    maxBodyBytes: int(env, 'POSTHORN_MAX_BODY_MB', 20, 1, 1024) * 1024 * 1024,
    maxRecipients: int(env, 'POSTHORN_MAX_RECIPIENTS', 1000, 1, 100000),
    worker: {
      batchSize: int(env, 'POSTHORN_WORKER_BATCH', 500, 1, 10000),
      concurrency: int(env, 'POSTHORN_WORKER_CONCURRENCY', 64, 1, 2000),
      pollMs: int(env, 'POSTHORN_WORKER_POLL_MS', 250, 5, 60000),
      leaseSeconds: int(env, 'POSTHORN_LEASE_SECONDS', 300, 1, 86400),
      retrySchedule,
      retryMaxAgeSeconds: parseDuration(env.POSTHORN_RETRY_MAX_AGE || '72h', 'POSTHORN_RETRY_MAX_AGE'),
      smtpTimeoutMs: int(env, 'POSTHORN_SMTP_TIMEOUT_MS', 60000, 100, 600000),
    },
    idempotencyTtlSeconds: 24 * 3600,
    quotas: {
      dailyLimit: int(env, 'POSTHORN_DAILY_LIMIT', 0, 0, 2_000_000_000),
      monthlyLimit: int(env, 'POSTHORN_MONTHLY_LIMIT', 0, 0, 2_000_000_000),
    },
    secret,
    rateLimitPerMinute: int(env, 'POSTHORN_RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
    concurrencyLimit: int(env, 'POSTHORN_CONCURRENCY_LIMIT', 10, 0, 100_000),
    redisUrl: parseRedisUrl(env.REDIS_URL),
    importMaxBytes: int(env, 'POSTHORN_IMPORT_MAX_MB', 1024, 1, 1024 * 1024) * 1024 * 1024,
    webhooks: {
      allowPrivateTargets: bool(env, 'POSTHORN_WEBHOOK_ALLOW_PRIVATE', false),
      retryBaseMs: int(env, 'POSTHORN_WEBHOOK_RETRY_BASE_MS', 30_000, 1, 3_600_000),
      pollMs: int(env, 'POSTHORN_WEBHOOK_POLL_MS', 200, 10, 60_000),
    },
  };
}

function parseRedisUrl(raw: string | undefined): string | null {
  if (!raw || !raw.trim()) return null;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(`REDIS_URL: "${raw}" is not a URL like redis://127.0.0.1:6379`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got "${raw}"`);
  if (!/^\/?\d*$/.test(url.pathname))
    throw new ConfigError(`REDIS_URL: the path must be a database number, got "${url.pathname}"`);
  return url.toString();
}

const HOST_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

function isHostname(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => HOST_LABEL.test(label));
}

/** EHLO name: a fully qualified domain name (RFC 5321 §4.1.1.1); the machine's name by default. */
function parseHostname(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') {
    const machine = os.hostname().toLowerCase();
    return isHostname(machine) ? machine : 'localhost';
  }
  const name = raw.trim().toLowerCase().replace(/\.$/, '');
  if (!isHostname(name) || !name.includes('.'))
    throw new ConfigError(`POSTHORN_HOSTNAME must be a fully qualified host name like mail.example.com, got "${raw}"`);
  return name;
}

/** "198.51.100.7, 2001:db8::7, news.example.com=198.51.100.9": a pool, and per-sending-domain addresses. */
function parseLocalAddresses(raw: string | undefined): MxConfig['localAddresses'] {
  const pool: string[] = [];
  const bySender = new Map<string, string>();
  for (const part of (raw ?? '').split(',')) {
    const entry = part.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    const address = (eq < 0 ? entry : entry.slice(eq + 1)).trim().replace(/^\[|\]$/g, '');
    if (!isIP(address))
      throw new ConfigError(`POSTHORN_MX_LOCAL_ADDRESSES: "${entry}" is not an IP address (or domain=IP)`);
    if (eq < 0) pool.push(address);
    else {
      const domain = entry.slice(0, eq).trim().toLowerCase();
      if (!isHostname(domain) || !domain.includes('.'))
        throw new ConfigError(`POSTHORN_MX_LOCAL_ADDRESSES: "${domain}" in "${entry}" is not a domain name`);
      bySender.set(domain, address);
    }
  }
  return { pool, bySender };
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (!raw) return fallback;
  if (!(values as readonly string[]).includes(raw))
    throw new ConfigError(`${name} must be ${values.slice(0, -1).join(', ')} or ${values.at(-1)}, got "${env[name]}"`);
  return raw as T;
}

function parseMxConfig(env: Env): MxConfig {
  let domainLimits: DomainLimits;
  try {
    domainLimits = parseDomainLimits(env.POSTHORN_MX_DOMAIN_LIMITS);
  } catch (error) {
    if (error instanceof DomainLimitsError) throw new ConfigError(`POSTHORN_MX_DOMAIN_LIMITS: ${error.message}`);
    throw error;
  }
  return {
    port: int(env, 'POSTHORN_MX_PORT', 25, 1, 65535),
    localAddresses: parseLocalAddresses(env.POSTHORN_MX_LOCAL_ADDRESSES),
    domainLimits,
    mtaSts: oneOf(env, 'POSTHORN_MTA_STS', ['enforce', 'testing', 'off'] as const, 'enforce'),
    mtaStsPort: int(env, 'POSTHORN_MTA_STS_PORT', 443, 1, 65535),
    caFile: env.POSTHORN_MX_CA_FILE?.trim() || null,
    ipv6: oneOf(env, 'POSTHORN_MX_IPV6', ['auto', 'on', 'off'] as const, 'auto'),
  };
}
