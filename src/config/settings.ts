// Every setting Posthorn reads, declared once: variable, type, default, meaning and validation.
// `loadConfig` (../config.ts) reads them into the typed Config; `posthorn config --help` and the
// README's configuration table are generated from this list (test/config/docs.test.ts fails
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
  secret,
  text,
  type Setting,
} from './setting.ts';
import { parseDnsServers, parseRedisUrl, parseRelays, type RelayConfig } from './parsers.ts';
import { parseHostname, parseLocalAddresses, type LocalAddresses } from './mx-parsers.ts';
import { DomainLimitsError, parseDomainLimits, type DomainLimits } from '../domain/domain-limits.ts';

export const ROLES = ['all', 'api', 'worker', 'smtp'] as const;
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
    description:
      'what this process runs: the HTTP API, the delivery worker, the SMTP servers, or all (same as `start --role`)',
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
  secret: secret({
    env: 'POSTHORN_SECRET',
    default: null,
    minLength: 32,
    defaultText: 'generated and stored in the database',
    description: 'signing secret of tokens and links; set it to share one secret between installations',
  }),
  apiProcesses: integer({
    env: 'POSTHORN_API_PROCESSES',
    default: 1,
    min: 1,
    max: 64,
    description:
      'front processes on this machine (node:cluster, sharing the ports): the HTTP API and the SMTP submission ' +
      'server of the role; PostgreSQL only, SQLite runs 1 (share limits through `REDIS_URL`)',
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
    default: 32,
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
    description:
      'how long the first write after a commit waits for others to share its transaction ' +
      '(not for SMTP submissions in a process of role `smtp` on SQLite: their commit thread ' +
      'takes what arrived during its last commit)',
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
    description: 'the resolver used for domain verification and (with `mx` delivery) MX look-ups',
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
  smtpTransactionTimeoutMs: integer({
    env: 'POSTHORN_SMTP_TRANSACTION_TIMEOUT_MS',
    default: 600000,
    min: 1000,
    max: 3600000,
    description:
      "the longest one outgoing message's transaction may take, however slowly the next hop trickles its " +
      'replies; then the connection is closed and the message retried later',
  }),
};

export const mx = {
  hostname: custom<string | null>({
    env: 'POSTHORN_HOSTNAME',
    default: null,
    type: 'host name',
    defaultText: "the machine's name",
    description:
      'the fully qualified name this host gives in EHLO; it should have an A/AAAA record and the PTR of the ' +
      'sending address should point back to it',
    parse: parseHostname,
  }),
  port: integer({
    env: 'POSTHORN_MX_PORT',
    default: 25,
    min: 1,
    max: 65535,
    description: 'the port every mail exchanger is reached on (tests and staging point it elsewhere)',
  }),
  localAddresses: custom<LocalAddresses>({
    env: 'POSTHORN_MX_LOCAL_ADDRESSES',
    default: { pool: [], bySender: new Map() },
    type: 'comma-separated `ip` or `domain=ip`',
    defaultText: "the system's choice",
    description:
      'local addresses to send from: plain addresses are used in turn, `news.example.com=198.51.100.9` binds mail ' +
      'from that From domain to one address (each address needs its PTR and a place in your SPF)',
    parse: parseLocalAddresses,
  }),
  domainLimits: custom<DomainLimits>({
    env: 'POSTHORN_MX_DOMAIN_LIMITS',
    default: parseDomainLimits(''),
    type: '`domains:connections=N,rate=N/s;…`',
    defaultText: '`*:connections=10`',
    description:
      'politeness per recipient domain: at most N messages in flight and N per second/minute/hour (`rate=50/s`, ' +
      '`300/m`, `off`); `*` sets the default, e.g. ' +
      '`*:connections=10; gmail.com googlemail.com:connections=20,rate=50/s`',
    parse: (raw) => {
      try {
        return parseDomainLimits(raw);
      } catch (error) {
        if (error instanceof DomainLimitsError) throw new ConfigError(`POSTHORN_MX_DOMAIN_LIMITS: ${error.message}`);
        throw error;
      }
    },
  }),
  mtaSts: oneOf({
    env: 'POSTHORN_MTA_STS',
    default: 'enforce',
    values: ['enforce', 'testing', 'off'] as const,
    description:
      "MTA-STS (RFC 8461) ceiling: `enforce` honours each domain's policy as it says (its `enforce` is enforced, " +
      'its `testing` only reported), `testing` only reports, `off` ignores policies',
  }),
  mtaStsPort: integer({
    env: 'POSTHORN_MTA_STS_PORT',
    default: 443,
    min: 1,
    max: 65535,
    description: 'HTTPS port of the `mta-sts.<domain>` policy hosts (tests point it at a local server)',
  }),
  caFile: optionalText({
    env: 'POSTHORN_MX_CA_FILE',
    default: null,
    defaultText: 'system CAs only',
    description:
      "PEM file of extra certificate authorities trusted, besides the system's, for MTA-STS policy hosts and " +
      'exchangers (tests, private networks)',
  }),
  ipv6: oneOf({
    env: 'POSTHORN_MX_IPV6',
    default: 'auto',
    values: ['auto', 'on', 'off'] as const,
    description: 'deliver over IPv6 too: when the host has a global IPv6 address (`auto`), always, or never',
  }),
  dkimEd25519: boolean({
    env: 'POSTHORN_DKIM_ED25519',
    default: false,
    description:
      'new sending domains also get an Ed25519 DKIM key (RFC 8463), a second signature next to the RSA one ' +
      '(`dkimEd25519` when adding a domain decides for that domain)',
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
  shutdownGraceMs: integer({
    env: 'POSTHORN_SHUTDOWN_GRACE_MS',
    default: 30000,
    min: 0,
    max: 3600000,
    description:
      'how long a stopping worker waits for the messages it is sending; then their transactions are cut ' +
      'and they are retried later',
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

export const rendering = {
  liquidParseLimit: integer({
    env: 'POSTHORN_LIQUID_PARSE_LIMIT',
    default: 5_000_000,
    min: 1000,
    max: 100_000_000,
    description: 'LiquidJS `parseLimit`: most characters of template parsed at once (a larger template is refused)',
  }),
  liquidRenderLimitMs: integer({
    env: 'POSTHORN_LIQUID_RENDER_LIMIT_MS',
    default: 2000,
    min: 10,
    max: 600000,
    description: 'LiquidJS `renderLimit`: most time one part (subject, HTML, text) of one message may take to render',
  }),
  liquidMemoryLimit: integer({
    env: 'POSTHORN_LIQUID_MEMORY_LIMIT',
    default: 64 * 1024 * 1024,
    min: 1000,
    max: 1_000_000_000,
    description:
      'LiquidJS `memoryLimit`: most characters and array items filters and ranges may allocate in one render',
  }),
  acceptRenderBudgetMs: integer({
    env: 'POSTHORN_ACCEPT_RENDER_BUDGET_MS',
    default: 1000,
    min: 10,
    max: 600000,
    description:
      'time a transmission or trigger send may take to render for all of its recipients when it is accepted ' +
      '(in the build threads); beyond it the request is refused with 422',
  }),
  buildThreads: optionalInteger({
    env: 'POSTHORN_BUILD_THREADS',
    default: null,
    min: 1,
    max: 64,
    defaultText: 'the number of cores less one, at least 1',
    description:
      'worker threads that render, compose and sign messages (and check templates at accept) off the event loop; ' +
      'each costs some 20–40 MB of memory',
  }),
  buildTimeoutMs: integer({
    env: 'POSTHORN_BUILD_TIMEOUT_MS',
    default: 10000,
    min: 100,
    max: 600000,
    description:
      'most time building one message may take; a build past it is stopped (its thread replaced) and the message fails',
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
  sandboxDailyLimit: integer({
    env: 'POSTHORN_SANDBOX_DAILY_LIMIT',
    default: 0,
    min: 0,
    max: 2_000_000_000,
    description:
      'messages per account per UTC day that sandbox sends may cause (sandbox keys, `optionsAttributes.sandbox`, ' +
      'mailings, test and trigger sends of a sandbox key); 420 with code `1420` beyond (0 = unlimited)',
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
  v1RatePerSecond: integer({
    env: 'POSTHORN_V1_RATE_PER_SECOND',
    default: 1000,
    min: 0,
    max: 1_000_000,
    description:
      'transactional API (`/v1`) requests per API key and second, counted across nodes through the limit ' +
      'store (Redis with `REDIS_URL`); beyond it 429 with code `1429` and `Retry-After` (0 = off; reported ' +
      'by `GET /v1/account/usage-quota`)',
  }),
  v1RatePerMinute: integer({
    env: 'POSTHORN_V1_RATE_PER_MINUTE',
    default: 30_000,
    min: 0,
    max: 100_000_000,
    description: 'transactional API (`/v1`) requests per API key and minute, likewise (0 = off)',
  }),
  authLock: boolean({
    env: 'POSTHORN_AUTH_LOCK',
    default: true,
    description:
      'lock a client IP on a surface (`/v1`, `/api/v1`, SMTP) after repeated wrong API keys, 30 s up to one ' +
      'hour (see "Failed authentications and locks"); `false` leaves the keys\' 128-bit secrets as the only guard',
  }),
  importMaxMb: integer({
    env: 'POSTHORN_IMPORT_MAX_MB',
    default: 1024,
    min: 1,
    max: 1024 * 1024,
    description: 'largest CSV file `POST /api/v1/subscribers/import` accepts',
  }),
};

// Answering excess API requests at once with 503 + Retry-After instead of a growing wait
// (src/http/load-shedding.ts).
export const loadShedding = {
  maxInFlight: integer({
    env: 'POSTHORN_SHED_MAX_IN_FLIGHT',
    default: 128,
    min: 0,
    max: 1_000_000,
    description:
      'API requests this process works on at once; beyond it a new one gets 503 (code `1503`, or the ' +
      'marketing dialect) with `Retry-After` before it is even authenticated (0 = off)',
  }),
  maxEventLoopDelayMs: integer({
    env: 'POSTHORN_SHED_EVENT_LOOP_DELAY_MS',
    default: 0,
    min: 0,
    max: 60_000,
    description:
      'also shed while the event loop runs this late (ms, 99th percentile over 50 ' +
      'ms); off by default: alone it did not keep p99 under 1 s',
  }),
  retryAfterSeconds: integer({
    env: 'POSTHORN_SHED_RETRY_AFTER_SECONDS',
    default: 1,
    min: 1,
    max: 3600,
    description:
      'the `Retry-After` of a shed request; a client that comes back sooner ' +
      'on the same connection is held until then and refused',
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
      'an unsubscribe from everything (link, one-click, mailto) puts the address on the list as `unsubscribe`, which ' +
      'holds back marketing mail only',
  }),
  softBounceLimit: integer({
    env: 'POSTHORN_SOFT_BOUNCE_LIMIT',
    default: 5,
    min: 0,
    max: 1000,
    description:
      'this many soft bounces (classes 20–24) in a row, with no delivery between, suppress the address (type ' +
      '`bounce`); `0` never',
  }),
};

export const smtp = {
  port: integer({
    env: 'POSTHORN_SMTP_PORT',
    default: 2587,
    min: 0,
    max: 65535,
    description: 'SMTP submission port (587 in production; `0` turns the submission server off)',
  }),
  host: text({
    env: 'POSTHORN_SMTP_HOST',
    default: '0.0.0.0',
    description: 'address the SMTP submission server listens on',
  }),
  tlsCert: optionalText({
    env: 'POSTHORN_SMTP_TLS_CERT',
    default: null,
    defaultText: 'a self-signed certificate generated at first start in `$POSTHORN_DATA_DIR/tls/`',
    description: 'PEM certificate (chain) file for STARTTLS; set together with `POSTHORN_SMTP_TLS_KEY`',
  }),
  tlsKey: optionalText({
    env: 'POSTHORN_SMTP_TLS_KEY',
    default: null,
    description: 'PEM private key file of `POSTHORN_SMTP_TLS_CERT`',
  }),
  allowInsecureAuth: boolean({
    env: 'POSTHORN_SMTP_ALLOW_INSECURE_AUTH',
    default: false,
    description: 'allow AUTH before STARTTLS (local apps on loopback, tests)',
  }),
  maxMessageMb: optionalInteger({
    env: 'POSTHORN_SMTP_MAX_MESSAGE_MB',
    default: null,
    min: 1,
    max: 1024,
    defaultText: '`POSTHORN_MAX_BODY_MB`',
    description: 'largest message the submission server accepts, announced with SIZE (552 beyond)',
  }),
};

export const inbound = {
  port: integer({
    env: 'POSTHORN_INBOUND_PORT',
    default: 2525,
    min: 0,
    max: 65535,
    description:
      'port of the inbound SMTP receiver that takes bounces, complaints and mailto unsubscribes for the return-path ' +
      'addresses (25 in production, behind the MX of the bounce domain; `0` turns it off)',
  }),
  host: text({
    env: 'POSTHORN_INBOUND_HOST',
    default: '0.0.0.0',
    description: 'address the inbound SMTP receiver listens on',
  }),
  maxMessageMb: integer({
    env: 'POSTHORN_INBOUND_MAX_MESSAGE_MB',
    default: 10,
    min: 1,
    max: 100,
    description: 'largest report the inbound receiver accepts, announced with SIZE (552 beyond)',
  }),
};

// Health, readiness and Prometheus metrics (src/http/ops.ts, README "Operations").
export const ops = {
  metricsPort: integer({
    env: 'POSTHORN_METRICS_PORT',
    default: 0,
    min: 0,
    max: 65535,
    description:
      'a listener of its own for `/metrics`, `/healthz` and `/readyz`, on every role (set it for `worker` and ' +
      '`smtp`, which have no HTTP port; one port per process); when set, `/metrics` leaves the API port. ' +
      '`0`: off, the API port serves `/metrics`',
  }),
  metricsHost: optionalText({
    env: 'POSTHORN_METRICS_HOST',
    default: null,
    defaultText: '`HOST`',
    description: 'address the metrics listener listens on',
  }),
  metricsToken: secret({
    env: 'POSTHORN_METRICS_TOKEN',
    default: null,
    minLength: 16,
    defaultText: 'none: `/metrics` is open',
    description: '`/metrics` answers only requests with `Authorization: Bearer <token>` (401 otherwise)',
  }),
};

export const SECTIONS: SettingSection[] = [
  { title: 'Server', settings: server },
  { title: 'Store', settings: store },
  { title: 'Delivery', settings: delivery },
  { title: 'Direct MX delivery', settings: mx },
  { title: 'Delivery worker', settings: worker },
  { title: 'Rendering', settings: rendering },
  { title: 'Limits', settings: limits },
  { title: 'Load shedding', settings: loadShedding },
  { title: 'Webhooks', settings: webhooks },
  { title: 'Suppression policy', settings: suppression },
  { title: 'SMTP submission', settings: smtp },
  { title: 'Inbound SMTP (bounces and complaints)', settings: inbound },
  { title: 'Operations', settings: ops },
];
