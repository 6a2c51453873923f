// Every setting Posthorn reads, declared once: variable, type, default, meaning and validation.
// `loadConfig` (../config.ts) reads them into the typed Config; `posthorn config --help` and the
// README's configuration table are generated from this list (test/unit/config-docs.test.ts fails
// when the README has drifted). To add a setting: declare it here, read it in loadConfig, then run
// `npm run docs:config`.
import {
  boolean,
  ConfigError,
  custom,
  duration,
  integer,
  oneOf,
  optionalInteger,
  optionalText,
  parseDuration,
  text,
  type Setting,
} from './setting.ts';
import { parseDnsServers, parseRedisUrl, parseRelays, type RelayConfig } from './parsers.ts';

export const ROLES = ['all', 'api', 'worker'] as const;
export const DELIVERY_MODES = ['capture', 'relay', 'mx'] as const;

/** A section of the documentation: a heading and the settings under it, in order. */
export interface SettingSection {
  title: string;
  settings: Record<string, Setting<unknown>>;
}

export const server = {
  dataDir: text({ env: 'POSTHORN_DATA_DIR', default: './data', description: 'where the SQLite database lives' }),
  port: integer({ env: 'PORT', default: 8025, min: 0, max: 65535, description: 'HTTP port' }),
  host: text({
    env: 'HOST',
    default: '127.0.0.1',
    description: 'address to listen on (`0.0.0.0` for all interfaces)',
  }),
  publicUrl: optionalText({
    env: 'PUBLIC_URL',
    default: null,
    defaultText: '`http://localhost:$PORT`',
    description: 'the URL people and links reach Posthorn by (http or https)',
  }),
  role: oneOf({
    env: 'POSTHORN_ROLE',
    default: 'all',
    values: ROLES,
    description: 'what this process runs: the HTTP API, the delivery worker, or all (same as `start --role`)',
  }),
  trustProxy: boolean({
    env: 'POSTHORN_TRUST_PROXY',
    default: false,
    description:
      'take the client IP from `X-Forwarded-For` (only behind a reverse proxy that sets it; see "Behind a proxy")',
  }),
  logLevel: oneOf({
    env: 'LOG_LEVEL',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    description: 'pino log level; `debug` also logs every request',
  }),
  secret: custom<string | null>({
    env: 'POSTHORN_SECRET',
    default: null,
    type: 'text, ≥ 32 characters',
    defaultText: 'generated and stored in the database',
    description: 'signing secret of tokens and links; set it to share one secret between installations',
    parse: (raw) => {
      if (raw.length < 32) throw new ConfigError('POSTHORN_SECRET must be at least 32 characters');
      return raw;
    },
  }),
};

export const store = {
  databaseUrl: custom<string | null>({
    env: 'DATABASE_URL',
    default: null,
    type: '`sqlite:<file>` or `postgres://…`',
    defaultText: '`sqlite:$POSTHORN_DATA_DIR/posthorn.db`',
    description: '`postgres://user:pass@host/db` for PostgreSQL',
    parse: (raw) => {
      const url = raw.trim();
      if (!/^(postgres|postgresql):\/\//.test(url) && !url.startsWith('sqlite:')) {
        throw new ConfigError(`DATABASE_URL must start with postgres:// or sqlite:, got "${url}"`);
      }
      return url.replace(/^postgresql:/, 'postgres:');
    },
  }),
  sqliteSynchronous: oneOf({
    env: 'POSTHORN_SQLITE_SYNCHRONOUS',
    default: 'FULL',
    values: ['FULL', 'NORMAL'],
    caseInsensitive: true,
    description: '`FULL` (fsync each commit; commits are grouped) or `NORMAL`',
  }),
  sqliteCacheMb: integer({
    env: 'POSTHORN_SQLITE_CACHE_MB',
    default: 64,
    min: 2,
    max: 65536,
    description: 'SQLite page cache; raise it for lists of millions (see BENCHMARKS.md)',
  }),
  groupCommitMs: optionalInteger({
    env: 'POSTHORN_GROUP_COMMIT_MS',
    default: null,
    min: 0,
    max: 100,
    defaultText: '`3` on SQLite with `FULL`, else `0`',
    description: 'how long the first write after a commit waits for others to share its transaction',
  }),
  redisUrl: custom<string | null>({
    env: 'REDIS_URL',
    default: null,
    type: '`redis://…` or `rediss://…`',
    defaultText: 'limits kept in memory',
    description: 'the store the rate limits and brute-force locks share across nodes',
    parse: parseRedisUrl,
  }),
};

export const delivery = {
  mode: oneOf({
    env: 'POSTHORN_DELIVERY',
    default: 'capture',
    values: DELIVERY_MODES,
    description: '`capture` (keep mail, send nothing), `relay` (through `POSTHORN_RELAYS`) or `mx` (direct)',
  }),
  relays: custom<RelayConfig[]>({
    env: 'POSTHORN_RELAYS',
    default: [],
    type: 'comma-separated URLs',
    defaultText: '',
    description:
      '`smtp://[user:pass@]host:port[?starttls=require|opportunistic|off&rejectUnauthorized=false]` or ' +
      '`smtps://…`; tried in order, an unreachable relay fails over to the next',
    parse: parseRelays,
  }),
  relayConnections: integer({
    env: 'POSTHORN_RELAY_CONNECTIONS',
    default: 32,
    min: 1,
    max: 1000,
    description: 'pooled SMTP connections per relay',
  }),
  dnsServers: custom<string[]>({
    env: 'POSTHORN_DNS_SERVERS',
    default: [],
    type: 'comma-separated `ip[:port]`',
    defaultText: 'system resolver',
    description: 'the resolver used for domain verification',
    parse: parseDnsServers,
  }),
  requireVerifiedDomain: boolean({
    env: 'POSTHORN_REQUIRE_VERIFIED_DOMAIN',
    default: true,
    description: 'when mail leaves the machine, production keys may only send from verified domains',
  }),
  returnPathDomain: optionalText({
    env: 'POSTHORN_RETURN_PATH_DOMAIN',
    default: null,
    defaultText: 'the from domain, or `bounces.<domain>` once its CNAME is verified',
    description: 'domain of the VERP envelope sender `bounces+<message id>@…`',
  }),
  spfInclude: optionalText({
    env: 'POSTHORN_SPF_INCLUDE',
    default: null,
    defaultText: 'host of `PUBLIC_URL`',
    description: 'the `include:` we ask domains to publish in SPF',
  }),
  smtpTimeoutMs: integer({
    env: 'POSTHORN_SMTP_TIMEOUT_MS',
    default: 60000,
    min: 100,
    max: 600000,
    description: 'SMTP socket timeout of outgoing connections',
  }),
};

export const worker = {
  concurrency: integer({
    env: 'POSTHORN_WORKER_CONCURRENCY',
    default: 64,
    min: 1,
    max: 2000,
    description: 'messages in flight per worker process',
  }),
  batchSize: integer({
    env: 'POSTHORN_WORKER_BATCH',
    default: 500,
    min: 1,
    max: 10000,
    description: 'most messages claimed at once',
  }),
  pollMs: integer({
    env: 'POSTHORN_WORKER_POLL_MS',
    default: 250,
    min: 5,
    max: 60000,
    description: 'how often an idle worker looks for due messages (an accept in the same process wakes it at once)',
  }),
  leaseSeconds: integer({
    env: 'POSTHORN_LEASE_SECONDS',
    default: 300,
    min: 1,
    max: 86400,
    description: 'a claimed message returns to the queue if its worker has not finished by then',
  }),
  retrySchedule: custom<number[]>({
    env: 'POSTHORN_RETRY_SCHEDULE',
    default: [60, 300, 900, 3600, 14400, 28800],
    type: 'comma-separated durations',
    defaultText: '`1m,5m,15m,1h,4h,8h`',
    description: 'delays between attempts after a 4xx or connection failure (±20 % jitter; the last step repeats)',
    parse: (raw) => raw.split(',').map((d) => parseDuration(d, 'POSTHORN_RETRY_SCHEDULE')),
  }),
  retryMaxAgeSeconds: duration({
    env: 'POSTHORN_RETRY_MAX_AGE',
    default: 72 * 3600,
    defaultText: '`72h`',
    description: 'after this a deferred message bounces',
  }),
};

export const limits = {
  maxBodyMb: integer({
    env: 'POSTHORN_MAX_BODY_MB',
    default: 20,
    min: 1,
    max: 1024,
    description: 'request body limit (413 beyond)',
  }),
  maxRecipients: integer({
    env: 'POSTHORN_MAX_RECIPIENTS',
    default: 1000,
    min: 1,
    max: 100000,
    description: 'to + cc + bcc per transmission',
  }),
  dailyLimit: integer({
    env: 'POSTHORN_DAILY_LIMIT',
    default: 0,
    min: 0,
    max: 2_000_000_000,
    description: 'messages per account per UTC day (420 beyond; 0 = unlimited)',
  }),
  monthlyLimit: integer({
    env: 'POSTHORN_MONTHLY_LIMIT',
    default: 0,
    min: 0,
    max: 2_000_000_000,
    description: 'messages per account per UTC month (420 beyond; 0 = unlimited)',
  }),
  rateLimitPerMinute: integer({
    env: 'POSTHORN_RATE_LIMIT_PER_MINUTE',
    default: 600,
    min: 0,
    max: 1_000_000,
    description: 'marketing API requests per API key and minute (0 = off)',
  }),
  concurrencyLimit: integer({
    env: 'POSTHORN_CONCURRENCY_LIMIT',
    default: 10,
    min: 0,
    max: 100_000,
    description: 'marketing API requests in flight per API key (0 = off)',
  }),
  importMaxMb: integer({
    env: 'POSTHORN_IMPORT_MAX_MB',
    default: 1024,
    min: 1,
    max: 1024 * 1024,
    description: 'largest CSV file `POST /api/v1/subscribers/import` accepts',
  }),
};

export const webhooks = {
  allowPrivateTargets: boolean({
    env: 'POSTHORN_WEBHOOK_ALLOW_PRIVATE',
    default: false,
    description: 'allow webhook targets in loopback/private/link-local ranges (checked at save and at every send)',
  }),
  retryBaseMs: integer({
    env: 'POSTHORN_WEBHOOK_RETRY_BASE_MS',
    default: 30_000,
    min: 1,
    max: 3_600_000,
    description: 'first retry delay of a failed webhook delivery, doubling to 1 h, for 24 h',
  }),
  pollMs: integer({
    env: 'POSTHORN_WEBHOOK_POLL_MS',
    default: 200,
    min: 10,
    max: 60_000,
    description: 'how often the webhook dispatcher looks for new events',
  }),
};

// What recorded bounces, complaints and unsubscribes do to the suppression list
// (src/domain/suppression-policy.ts).
export const suppression = {
  hardBounces: boolean({
    env: 'POSTHORN_SUPPRESS_HARD_BOUNCES',
    default: true,
    description:
      "a hard bounce (classes 10, 30; 90 as `unsubscribe`) puts the address on the account's suppression list at once",
  }),
  complaints: boolean({
    env: 'POSTHORN_SUPPRESS_COMPLAINTS',
    default: true,
    description: 'a spam complaint puts the address on the suppression list at once (type `spam_complaint`)',
  }),
  unsubscribes: boolean({
    env: 'POSTHORN_SUPPRESS_UNSUBSCRIBES',
    default: true,
    description:
      'an unsubscribe from everything (link, one-click, mailto) puts the address on the list as `unsubscribe`, which holds back marketing mail only',
  }),
  softBounceLimit: integer({
    env: 'POSTHORN_SOFT_BOUNCE_LIMIT',
    default: 5,
    min: 0,
    max: 1000,
    description:
      'this many soft bounces (classes 20–24) in a row, with no delivery between, suppress the address (type `bounce`); `0` never',
  }),
};

export const SECTIONS: SettingSection[] = [
  { title: 'Server', settings: server },
  { title: 'Store', settings: store },
  { title: 'Delivery', settings: delivery },
  { title: 'Delivery worker', settings: worker },
  { title: 'Limits', settings: limits },
  { title: 'Webhooks', settings: webhooks },
  { title: 'Suppression policy', settings: suppression },
];
