// The command line: `posthorn start`, `posthorn migrate`, `posthorn keys create|list|revoke …`.
import { parseArgs } from 'node:util';
import { ConfigError, environment, loadConfig, redacted, type Config } from './config.ts';
import { settingsHelp } from './config/docs.ts';
import { startPosthorn } from './app.ts';
import { openStore } from './store/db.ts';
import { CommitBatcher } from './store/commit-batcher.ts';
import { createLogger } from './log.ts';
import type { Logger } from 'pino';
import { announceReady, apiProcessCount, isFrontProcess, notifyPrimary, startApiCluster } from './api-cluster.ts';
import { createApiKey } from './services/api-keys.ts';
import { accountByRef, listKeysForOperator, revokeKeyByOperator } from './services/api-key-management.ts';
import type { ApiKeyRow } from './store/api-keys.ts';
import { permissionTypeOf, type PermissionId } from './domain/permissions.ts';
import { bootstrapFirstAccount, ensureSecret } from './services/bootstrap.ts';
import { createDnsLookup } from './services/dns.ts';
import { ServiceError } from './services/errors.ts';
import { createDashboardUser } from './services/dashboard-sessions.ts';
import { PERMISSIONS } from './domain/permissions.ts';
import type { Context } from './context.ts';

const USAGE = `Usage:
  posthorn start [--role all|api|worker|smtp]
                                           run Posthorn (default role: all; smtp: only the SMTP servers)
  posthorn migrate                         create or update the database schema, then exit
  posthorn keys create --name NAME [--permissions p1,p2] [--environment production|sandbox]
                       [--allowed-ip CIDR[,CIDR]] [--smtp-ip-auth] [--account ID] [--json]
                                           create an API key (the secret is shown once); --smtp-ip-auth:
                                           it authenticates SMTP connections from --allowed-ip without AUTH;
                                           --account: the integer id or text id (default: the first)
  posthorn keys list [--account ID] [--json]
                                           the keys that are not revoked (of one account: its
                                           integer id or text id), in id order
  posthorn keys revoke ID                  revoke a key (its integer id or 8-character public id)
                                           at once, on every node
  posthorn users create --email EMAIL [--account ID]
                                           create a dashboard user; the password is read from standard
                                           input (at least 10 characters), e.g. from a prompt or a pipe
  posthorn config [--help]                 print the effective settings (secrets hidden), or what each one means
Permissions: ${PERMISSIONS.map((p) => p.id).join(', ')} (default: all)
Settings come from the environment; see README.md.`;

function printFirstKey(firstKey: string | null): void {
  if (firstKey) {
    console.log(`API key: ${firstKey}`);
    console.log('  (shown once; it has every permission. Keep it somewhere safe.)');
  } else {
    console.log('API key: created at first start; make another with `npm run posthorn -- keys create --name NAME`');
  }
}

const HELP_HINT = '`posthorn help` lists the commands';

/** Bad input from the operator: one line on stderr, exit code 2 (scripts tell it from a crash). */
function fail(message: string): never {
  console.error(`posthorn: ${oneLine(message)}`);
  process.exit(2);
}

/** Anything else that stops a command (an unreachable database, a port in use): one line, exit code 1. */
function crash(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`posthorn: ${oneLine(message || (error as Error)?.name || 'failed')}`);
  process.exit(1);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

async function withStore<T>(config: Config, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const store = await openStore(config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    sqliteCacheMb: config.sqliteCacheMb,
  });
  const log = createLogger('warn');
  try {
    const secret = await ensureSecret(store.db, config.secret);
    const ctx: Context = {
      db: store.db,
      dialect: store.dialect,
      batcher: new CommitBatcher(store.db),
      clock: Date.now,
      config,
      log,
      secret,
      dns: createDnsLookup(config.dnsServers),
    };
    return await fn(ctx);
  } finally {
    await store.close();
  }
}

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { role: { type: 'string' } }, strict: true });
  // A front process of POSTHORN_API_PROCESSES: the primary forked it with its role.
  if (isFrontProcess()) return startFrontProcess(loadConfig(environment()));
  const env = environment(values.role ? { POSTHORN_ROLE: values.role } : {});
  const config = loadConfig(env);
  const log = createLogger(config.logLevel);
  const processes = apiProcessCount(config, log);
  if (processes > 1) return startCluster(config, processes, log);
  const app = await startPosthorn(config, { log });
  console.log(
    `Posthorn is running (${config.delivery} delivery, ` +
      `${config.databaseUrl.startsWith('sqlite:') ? 'SQLite at ' + config.databaseUrl.slice(7) : 'PostgreSQL'}, ` +
      `role ${config.role})`,
  );
  if (app.dashboardUrl) {
    console.log(`Dashboard: ${app.dashboardUrl}`);
    if (app.firstKey) console.log('  (this link signs you in once, within 24 hours; later sign in with the API key)');
    console.log(`API documentation: ${app.url && config.port === 0 ? app.url : config.publicUrl}/v1/documentation`);
  }
  if (app.smtp) {
    const { url, tls } = app.smtp;
    const certificate = tls.source === 'self-signed' ? `, self-signed certificate ${tls.file}` : '';
    console.log(`SMTP submission: ${url} (STARTTLS${certificate}; password: an API key with "Send via SMTP")`);
  }
  if (app.inbound) console.log(`Inbound SMTP (bounces, complaints, mailto unsubscribes): ${app.inbound.url}`);
  printFirstKey(app.firstKey);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing messages in flight, then stopping`);
    // A step that failed was logged and the others still ran; the exit code says it.
    process.exit((await closedCleanly(() => app.close())) ? 0 : 1);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** Runs a shutdown; false when a step of it failed (each failure is logged by its step). */
function closedCleanly(close: () => Promise<void>): Promise<boolean> {
  return close().then(
    () => true,
    () => false,
  );
}

/** The primary of several API processes: prints what `start` prints once they all listen. */
async function startCluster(config: Config, processes: number, log: Logger): Promise<void> {
  const cluster = await startApiCluster(config, processes, log, () =>
    withStore(config, async (ctx) => (await bootstrapFirstAccount(ctx)).key),
  );
  const store = config.databaseUrl.startsWith('sqlite:') ? 'SQLite' : 'PostgreSQL';
  console.log(
    `Posthorn is running (${config.delivery} delivery, ${store}, role ${config.role}, ${processes} front processes)`,
  );
  if (cluster.url)
    console.log(`API documentation: ${config.port === 0 ? cluster.url : config.publicUrl}/v1/documentation`);
  if (cluster.smtpUrl)
    console.log(`SMTP submission: ${cluster.smtpUrl} (STARTTLS; password: an API key with "Send via SMTP")`);
  const inbound = cluster.primary?.inbound;
  if (inbound) console.log(`Inbound SMTP (bounces, complaints, mailto unsubscribes): ${inbound.url}`);
  printFirstKey(cluster.firstKey);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping the API processes and finishing messages in flight`);
    process.exit((await closedCleanly(() => cluster.stop())) ? 0 : 1);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** One front process of several: the HTTP API and SMTP submission of its role; accepts wake the primary's worker. */
async function startFrontProcess(config: Config): Promise<void> {
  const app = await startPosthorn(config, { part: 'front', onAccepted: notifyPrimary() });
  announceReady(app.url, app.smtp?.url ?? null);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.exit((await closedCleanly(() => app.close())) ? 0 : 1);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

async function keysCreate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      permissions: { type: 'string' },
      environment: { type: 'string' },
      'allowed-ip': { type: 'string' },
      'smtp-ip-auth': { type: 'boolean' },
      account: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.name) fail('keys create needs --name');
  const environment = values.environment ?? 'production';
  if (environment !== 'production' && environment !== 'sandbox') fail('--environment must be production or sandbox');
  const config = loadConfig();
  await withStore(config, async (ctx) => {
    const { accountId: firstAccount } = await bootstrapFirstAccount(ctx);
    const { key, info } = await createApiKey(ctx, {
      accountId: values.account ? (await accountByRef(ctx, values.account)).id : firstAccount,
      name: values.name!,
      permissions: values.permissions ? values.permissions.split(',').map((p) => p.trim()) : undefined,
      allowedIps: values['allowed-ip'] ? values['allowed-ip'].split(',').map((p) => p.trim()) : undefined,
      environment,
      smtpIpAuth: values['smtp-ip-auth'] ?? false,
    });
    if (values.json)
      console.log(
        JSON.stringify({
          key,
          // The integer ids the APIs and `keys list` show; the public id is the key's first part.
          id: info.intId,
          publicId: info.id,
          accountId: info.accountIntId,
          name: info.name,
          permissions: info.permissions,
          environment: info.environment,
          allowedIps: info.allowedIps,
          smtpIpAuth: info.smtpIpAuth,
        }),
      );
    else
      console.log(
        `API key: ${key}\n  id ${info.intId}, account ${info.accountIntId}, ` +
          `${info.environment}, permissions: ${info.permissions.join(', ')}` +
          (info.smtpIpAuth ? `\n  authenticates SMTP connections from ${info.allowedIps.join(', ')} without AUTH` : ''),
      );
  });
}

/** A key as the command line shows it (--json): the API's integer ids and times in milliseconds. */
function keyJson(row: ApiKeyRow) {
  return {
    id: row.int_id,
    publicId: row.id,
    name: row.name,
    accountId: row.account_int_id,
    accountName: row.account_name,
    parentAccountId: row.parent_int_id,
    environment: row.environment,
    permissions: JSON.parse(row.permissions) as PermissionId[],
    allowedIps: JSON.parse(row.allowed_ips) as string[],
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

async function keysList(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { account: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  await withStore(loadConfig(), async (ctx) => {
    const rows = await listKeysForOperator(ctx, values.account);
    if (values.json) {
      console.log(JSON.stringify(rows.map(keyJson)));
      return;
    }
    console.log(['id', 'public id', 'account', 'environment', 'permissions', 'last used', 'name'].join('\t'));
    for (const r of rows) {
      const permissions = JSON.parse(r.permissions) as PermissionId[];
      const used = r.last_used_at === null ? 'never' : new Date(r.last_used_at).toISOString();
      const type = permissionTypeOf(permissions) === 'all' ? 'all' : permissions.join(',');
      console.log([r.int_id, r.id, r.account_int_id, r.environment, type, used, r.name].join('\t'));
    }
  });
}

async function keysRevoke(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
  if (positionals.length !== 1) fail('keys revoke needs one key id (its integer id or 8-character public id)');
  await withStore(loadConfig(), async (ctx) => {
    const row = await revokeKeyByOperator(ctx, positionals[0]);
    console.log(`revoked API key ${row.int_id} (${row.id}, "${row.name}", account ${row.account_int_id})`);
  });
}

/**
 * The password of `users create`, from standard input: piped, or typed at a prompt that does not
 * show it (the terminal's echo goes to a stream that writes nothing).
 */
async function readPassword(): Promise<string> {
  const { createInterface } = await import('node:readline');
  if (!process.stdin.isTTY) {
    const lines = createInterface({ input: process.stdin, terminal: false });
    for await (const line of lines) {
      lines.close();
      return line;
    }
    return '';
  }
  const { Writable } = await import('node:stream');
  process.stdout.write('Password (at least 10 characters, not shown): ');
  const hidden = new Writable({ write: (_chunk, _encoding, done) => done() });
  const prompt = createInterface({ input: process.stdin, output: hidden, terminal: true });
  prompt.on('SIGINT', () => {
    prompt.close();
    process.stdout.write('\n');
    process.exit(130);
  });
  const line = await new Promise<string>((resolve) => prompt.question('', resolve));
  prompt.close();
  process.stdout.write('\n');
  return line;
}

async function usersCreate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { email: { type: 'string' }, account: { type: 'string' } },
    strict: true,
  });
  if (!values.email) fail('users create needs --email');
  const password = await readPassword();
  await withStore(loadConfig(), async (ctx) => {
    const { accountId: firstAccount } = await bootstrapFirstAccount(ctx);
    const account = values.account ? await accountByRef(ctx, values.account) : { id: firstAccount };
    const user = await createDashboardUser(ctx, { accountId: account.id, email: values.email!, password });
    console.log(`dashboard user ${user.email} created; sign in at ${ctx.config.publicUrl}/sign-in`);
  });
}

function printConfig(args: string[]): void {
  const { values } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    console.log(settingsHelp());
    return;
  }
  console.log(JSON.stringify(redacted(loadConfig()), null, 2));
}

async function main(argv: string[]): Promise<void> {
  const [command, sub, ...rest] = argv;
  switch (command) {
    case 'start':
      return start([sub, ...rest].filter((a): a is string => a !== undefined));
    case 'migrate':
      parseArgs({ args: [sub, ...rest].filter((a): a is string => a !== undefined), options: {}, strict: true });
      return withStore(loadConfig(), async () => console.log('database is up to date'));
    case 'config': {
      printConfig([sub, ...rest].filter((a): a is string => a !== undefined));
      return;
    }
    case 'keys':
      if (sub === 'create') return keysCreate(rest);
      if (sub === 'list') return keysList(rest);
      if (sub === 'revoke') return keysRevoke(rest);
      return fail(`unknown keys command "${sub ?? ''}"; ${HELP_HINT}`);
    case 'users':
      if (sub === 'create') return usersCreate(rest);
      return fail(`unknown users command "${sub ?? ''}"; ${HELP_HINT}`);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      fail(`unknown command "${command}"; ${HELP_HINT}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) fail(`configuration error: ${error.message}`);
  if (error instanceof ServiceError) fail(error.detail);
  if (
    (error as Error).message?.includes('parseArgs') ||
    (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')
  )
    fail(`${(error as Error).message}; ${HELP_HINT}`);
  crash(error);
});
