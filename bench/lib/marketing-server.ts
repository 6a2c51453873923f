// Posthorn for the marketing benchmarks: a child process (role api; no mail is sent) on a SQLite
// data dir that is either fresh or reused (BENCH_DATA_DIR), plus a keep-alive HTTP client that
// speaks the marketing surface's Basic auth.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startPosthornProcess, type PosthornProcess } from './posthorn-process.ts';

export interface MarketingServer {
  process: PosthornProcess;
  url: string;
  dataDir: string;
  /** The data dir was created by this run (and is removed at stop unless it was asked for). */
  fresh: boolean;
  settings: Record<string, string>;
  client: ApiClient;
  stop(): Promise<void>;
}

// The key is printed only at the first start of a database, so it is kept next to the database
// for later runs that reuse the data dir.
const KEY_FILE = 'bench-api-key.txt';

/**
 * `dataDir` given: that directory is used (created when missing) and kept. Not given: a new
 * temporary directory, removed at stop unless BENCH_KEEP=1.
 */
export async function startMarketingServer(
  label: string,
  dataDir?: string,
  extraEnv: Record<string, string> = {},
): Promise<MarketingServer> {
  const keep = Boolean(dataDir) || process.env.BENCH_KEEP === '1';
  const dir = dataDir ? path.resolve(dataDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-marketing-bench-'));
  fs.mkdirSync(dir, { recursive: true });
  const fresh = !fs.existsSync(path.join(dir, 'posthorn.db'));
  // The per-key rate limit (600/min) would cut the list bench short once queries are fast: off.
  const settings = {
    POSTHORN_SQLITE_SYNCHRONOUS: process.env.BENCH_SQLITE_SYNCHRONOUS ?? 'FULL',
    POSTHORN_RATE_LIMIT_PER_MINUTE: '0',
    ...extraEnv,
  };
  const proc = await startPosthornProcess({
    env: settings,
    dataDir: dir,
    databaseUrl: `sqlite:${path.join(dir, 'posthorn.db')}`,
    role: 'api',
    label,
    // BENCH_PROFILE_DIR: the server runs under node --cpu-prof (summarise with bench/profile-summary.ts).
    cpuProfileDir: process.env.BENCH_PROFILE_DIR ? path.resolve(process.env.BENCH_PROFILE_DIR, label) : undefined,
  });
  let key = proc.key;
  if (key) fs.writeFileSync(path.join(dir, KEY_FILE), key + '\n', { mode: 0o600 });
  else if (fs.existsSync(path.join(dir, KEY_FILE))) key = fs.readFileSync(path.join(dir, KEY_FILE), 'utf8').trim();
  if (!key) {
    await proc.stop();
    throw new Error(`${dir} holds a database but no ${KEY_FILE}: use a data dir made by these benchmarks`);
  }
  const url = proc.url!;
  return {
    process: proc,
    url,
    dataDir: dir,
    fresh,
    settings,
    client: new ApiClient(url, key),
    stop: async () => {
      await proc.stop();
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ApiResponse {
  status: number;
  body: any;
  /** Milliseconds from sending the request to the last byte of the answer. */
  ms: number;
}

/** node:http with keep-alive: lighter than fetch, so the latency measured is mostly the server's. */
export class ApiClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly auth: string;

  constructor(
    readonly baseUrl: string,
    key: string,
  ) {
    this.auth = 'Basic ' + Buffer.from(`bench:${key}`).toString('base64');
  }

  request(
    method: string,
    pathAndQuery: string,
    body?: unknown,
    headers: Record<string, string | number> = {},
  ): Promise<ApiResponse> {
    const payload =
      body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const h: Record<string, string | number> = { authorization: this.auth, ...headers };
    if (payload !== undefined) {
      h['content-type'] ??= 'application/json';
      h['content-length'] = Buffer.byteLength(payload);
    }
    return this.send(method, pathAndQuery, h, (req) => req.end(payload));
  }

  /** Uploads a file as the body, streamed from disk. */
  upload(pathAndQuery: string, file: string, contentType: string): Promise<ApiResponse> {
    const h = { authorization: this.auth, 'content-type': contentType, 'content-length': fs.statSync(file).size };
    return this.send('POST', pathAndQuery, h, (req) => fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(req));
  }

  get(pathAndQuery: string): Promise<ApiResponse> {
    return this.request('GET', pathAndQuery);
  }

  private send(
    method: string,
    pathAndQuery: string,
    headers: Record<string, string | number>,
    write: (req: http.ClientRequest) => void,
  ): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request(this.baseUrl + pathAndQuery, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - t0;
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {
            /* keep the text: the caller reports it */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, ms });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      write(req);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** meta.pagination.total of GET /api/v1/subscribers: the account's subscriber count. */
export async function subscriberTotal(client: ApiClient): Promise<number> {
  const res = await client.get('/api/v1/subscribers?limit=1');
  if (res.status !== 200)
    throw new Error(`GET /api/v1/subscribers answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
  return Number(res.body.meta.pagination.total);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
