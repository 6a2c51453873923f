// Starts a real Posthorn (HTTP on a random port, worker, store) for a test, and a small client.
import { loadConfig } from '../../src/config.ts';
import { startPosthorn, type Posthorn } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';
import type { Logger } from 'pino';
import { createApiKey, type CreateKeyInput } from '../../src/services/api-keys.ts';
import { newId } from '../../src/domain/ids.ts';
import { insertAccount } from '../../src/store/accounts.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface TestServer {
  url: string;
  key: string;
  accountId: string;
  /** The first account's integer id (what the APIs show). */
  accountIntId: number;
  app: Posthorn;
  db: TestDatabase;
  api: ApiClient;
  /** Creates another account with an all-permissions key (for isolation tests). */
  newAccount(): Promise<{ accountId: string; accountIntId: number; key: string; api: ApiClient }>;
  newKey(input: Omit<CreateKeyInput, 'accountId'> & { accountId?: string }): Promise<string>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Run the SMTP submission server on a free port (app.smtp); off otherwise. */
  smtp?: boolean;
  /** Run the inbound SMTP receiver on a free port (app.inbound); off otherwise. */
  inbound?: boolean;
  /** The server's logger (for a test that reads the log); LOG_LEVEL's otherwise. */
  log?: Logger;
}

export async function startTestServer(
  env: Record<string, string> = {},
  opts: TestServerOptions = {},
): Promise<TestServer> {
  const db = await createTestDatabase();
  const config = loadConfig({
    // The SMTP servers listen on fixed ports by default: off unless a test asks for them.
    POSTHORN_SMTP_PORT: '0',
    POSTHORN_INBOUND_PORT: '0',
    POSTHORN_DATA_DIR: db.dataDir,
    DATABASE_URL: db.url,
    PORT: '0',
    HOST: '127.0.0.1',
    POSTHORN_SQLITE_SYNCHRONOUS: 'NORMAL',
    POSTHORN_WORKER_POLL_MS: '20',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    ...env,
  });
  if (opts.smtp) config.smtp.port = 0; // any free port
  if (opts.inbound) config.inbound.port = 0;
  const app = await startPosthorn(config, { log: opts.log ?? createLogger(config.logLevel) });
  const url = app.url!;
  const first = await app.ctx.db.selectFrom('accounts').select(['id', 'int_id']).executeTakeFirstOrThrow();
  const accountId = first.id;
  const server: TestServer = {
    url,
    key: app.firstKey!,
    accountId,
    accountIntId: Number(first.int_id),
    app,
    db,
    api: new ApiClient(url, app.firstKey!),
    async newAccount() {
      const id = newId();
      const account = await insertAccount(app.ctx.db, {
        id,
        name: `Account ${id}`,
        parent_id: null,
        status: 'Active',
        created_at: Date.now(),
      });
      const { key } = await createApiKey(app.ctx, { accountId: id, name: 'test' });
      return { accountId: id, accountIntId: account.int_id, key, api: new ApiClient(url, key) };
    },
    async newKey(input) {
      const { key } = await createApiKey(app.ctx, { accountId: input.accountId ?? accountId, ...input });
      return key;
    },
    async close() {
      // A teardown that outlasts its hook's timeout would fail without saying why: name what it waits for.
      const started = Date.now();
      const watch = setInterval(() => {
        const step = app.closingStep ?? 'the test database to drop';
        const inFlight = step === 'worker' ? ` (${app.worker?.messagesInFlight} messages in flight)` : '';
        process.stderr.write(`test server closing for ${Date.now() - started} ms: waiting for ${step}${inFlight}\n`);
      }, 10_000);
      try {
        await app.close();
        await db.drop();
      } finally {
        clearInterval(watch);
      }
    },
  };
  return server;
}

/**
 * Another API node on the test server's database (as a deployment with several nodes has): it
 * shares the database, so the signing secret and the limit counters' namespace too.
 */
export async function startSecondNode(server: TestServer, env: Record<string, string> = {}): Promise<Posthorn> {
  return startPosthorn(
    loadConfig({
      POSTHORN_DATA_DIR: server.db.dataDir,
      DATABASE_URL: server.db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      POSTHORN_ROLE: 'api',
      ...env,
    }),
    { log: createLogger('silent') },
  );
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly key: string | null,
  ) {}

  async request<T = any>(
    method: string,
    path: string,
    opts: { body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string>; auth?: string | null } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const auth = opts.auth === undefined ? (this.key ? `Bearer ${this.key}` : null) : opts.auth;
    if (auth) headers.authorization = auth;
    let body: string | Buffer | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.baseUrl + path, { method, headers, body: body as BodyInit | undefined });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get<T = any>(path: string, opts?: Parameters<ApiClient['request']>[2]) {
    return this.request<T>('GET', path, opts);
  }
  post<T = any>(path: string, body?: unknown, opts: Parameters<ApiClient['request']>[2] = {}) {
    return this.request<T>('POST', path, { ...opts, body });
  }
  put<T = any>(path: string, body?: unknown, opts: Parameters<ApiClient['request']>[2] = {}) {
    return this.request<T>('PUT', path, { ...opts, body });
  }
  delete<T = any>(path: string, opts?: Parameters<ApiClient['request']>[2]) {
    return this.request<T>('DELETE', path, opts);
  }
}

/** Polls until `check` returns a truthy value or the time is up. */
export async function waitFor<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 10_000,
  label = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until every message of a transmission has left the queue; returns them. */
export async function waitForTransmission(api: ApiClient, transmissionId: string, timeoutMs = 10_000): Promise<any[]> {
  return waitFor(
    async () => {
      const res = await api.get(`/v1/messages?transmissionId=${transmissionId}&size=1000`);
      const data = res.body.data as any[];
      return data.length > 0 && data.every((m) => !['queued', 'sending'].includes(m.status)) ? data : null;
    },
    timeoutMs,
    `transmission ${transmissionId}`,
  );
}

/**
 * POST /v1/template answers `true`, as Mailtarget's contract does; the new template is read back
 * through the Location header. Answers the error response as it came when the POST failed.
 */
export async function createTemplate(api: ApiClient, body: Record<string, unknown>): Promise<ApiResponse> {
  const res = await api.post('/v1/template', body);
  if (res.status !== 200) return res;
  const location = res.headers.get('location');
  if (res.body !== true || !location) throw new Error(`POST /v1/template answered ${res.text} without a Location`);
  return api.get(location);
}
