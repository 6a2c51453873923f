// The command line: `posthorn start`, `posthorn migrate`, `posthorn keys create …`.
import { parseArgs } from 'node:util';
import { ConfigError, environment, loadConfig, redacted, type Config } from './config.ts';
import { settingsHelp } from './config/docs.ts';
import { startPosthorn } from './app.ts';
import { openStore } from './store/db.ts';
import { CommitBatcher } from './store/commit-batcher.ts';
import { createLogger } from './log.ts';
import { createApiKey } from './services/api-keys.ts';
import { bootstrapFirstAccount, ensureSecret } from './services/bootstrap.ts';
import { createDnsLookup } from './services/dns.ts';
import { ServiceError } from './services/errors.ts';
import { PERMISSIONS } from './domain/permissions.ts';
import type { Context } from './services/context.ts';

const USAGE = `Usage:
  posthorn start [--role all|api|worker]   run Posthorn (default role: all)
  posthorn migrate                         create or update the database schema, then exit
  posthorn keys create --name NAME [--permissions p1,p2] [--environment production|sandbox]
                       [--allowed-ip CIDR[,CIDR]] [--account ID] [--json]
                                           create an API key (the secret is shown once)
  posthorn config [--help]                 print the effective settings (secrets hidden), or what each one means
Permissions: ${PERMISSIONS.map((p) => p.id).join(', ')} (default: all)
Settings come from the environment; see README.md.`;

function fail(message: string): never {
  console.error(`posthorn: ${message}`);
  process.exit(2);
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
  const env = environment(values.role ? { POSTHORN_ROLE: values.role } : {});
  const config = loadConfig(env);
  const app = await startPosthorn(config);
  const docs = `${config.publicUrl}/v1/documentation`;
  console.log(
    `Posthorn is running (${config.delivery} delivery, ${config.databaseUrl.startsWith('sqlite:') ? 'SQLite at ' + config.databaseUrl.slice(7) : 'PostgreSQL'}, role ${config.role})`,
  );
  if (app.url) console.log(`Dashboard: ${docs}`);
  if (app.firstKey) {
    console.log(`API key: ${app.firstKey}`);
    console.log('  (shown once; it has every permission. Keep it somewhere safe.)');
  } else {
    console.log('API key: created at first start; make another with `npm run posthorn -- keys create --name NAME`');
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing messages in flight, then stopping`);
    await app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

async function keysCreate(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      permissions: { type: 'string' },
      environment: { type: 'string' },
      'allowed-ip': { type: 'string' },
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
      accountId: values.account ?? firstAccount,
      name: values.name!,
      permissions: values.permissions ? values.permissions.split(',').map((p) => p.trim()) : undefined,
      allowedIps: values['allowed-ip'] ? values['allowed-ip'].split(',').map((p) => p.trim()) : undefined,
      environment,
    });
    if (values.json)
      console.log(
        JSON.stringify({
          key,
          id: info.id,
          accountId: info.accountId,
          name: info.name,
          permissions: info.permissions,
          environment: info.environment,
          allowedIps: info.allowedIps,
        }),
      );
    else
      console.log(
        `API key: ${key}\n  id ${info.id}, account ${info.accountId}, ${info.environment}, permissions: ${info.permissions.join(', ')}`,
      );
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
      return withStore(loadConfig(), async () => console.log('database is up to date'));
    case 'config':
      return printConfig([sub, ...rest].filter((a): a is string => a !== undefined));
    case 'keys':
      if (sub === 'create') return keysCreate(rest);
      return fail(`unknown keys command "${sub ?? ''}"\n${USAGE}`);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      fail(`unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((error) => {
  if (error instanceof ConfigError) fail(`configuration error: ${error.message}`);
  if (error instanceof ServiceError) fail(error.detail);
  if (
    (error as Error).message?.includes('parseArgs') ||
    (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')
  )
    fail(`${(error as Error).message}\n${USAGE}`);
  console.error(error);
  process.exit(1);
});
