// The audience of the mailing benchmark, made once and copied for every run: N subscribers of one
// channel (bench/lib/marketing-data.ts rows, each with a "hometown" custom field value), the
// channel, and the sending domain with its DKIM key. Seeding a million subscribers takes minutes,
// so the seed is kept (with --data-dir) and each run works on a copy: a run adds N messages and
// their events, and the next run must start from the same state.
//   SQLite: <data-dir>/mailing-seed-<N>-s<seed>/posthorn.db, copied to a temporary directory.
//   PostgreSQL: database posthorn_bench_mailing_<N>_s<seed>, copied with CREATE DATABASE … TEMPLATE.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from '../../src/store/db.ts';
import { startPosthornProcess } from './posthorn-process.ts';
import { ApiClient } from './marketing-server.ts';
import { makeSubscriberFactory } from './marketing-data.ts';
import { FROM_DOMAIN } from './payload.ts';
import type { StoreKind } from './bench-database.ts';

export const SENDER_EMAIL = `news@${FROM_DOMAIN}`;
const MARKER = 'bench-mailing-seed.json';
const BULK_BATCH = 1000;

export interface Seed {
  recipients: number;
  seed: number;
  store: StoreKind;
  /** The directory holding the marker (and, for SQLite, the seeded database). */
  dir: string;
  pgDatabase: string | null;
  key: string;
  channelId: number;
  fieldId: number;
  dkimPublicKey: string;
  dkimSelector: string;
  seedSeconds: number;
  createdAt: string;
}

export interface RunDatabase {
  dataDir: string;
  url: string;
  drop(): Promise<void>;
}

const pgName = (recipients: number, seed: number) => `posthorn_bench_mailing_${recipients}_s${seed}`;

function pgUrl(base: string, database: string): string {
  const u = new URL(base);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(baseUrl: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * The seed for `recipients` subscribers: reused when `dataDir` holds a finished one, else made now
 * (a half-made one, from an interrupted run, is thrown away first).
 */
export async function ensureSeed(opts: {
  recipients: number;
  seed: number;
  store: StoreKind;
  dataDir: string;
  pgBaseUrl: string | null;
  log: (line: string) => void;
}): Promise<Seed> {
  const dir = path.join(opts.dataDir, `mailing-seed-${opts.store}-${opts.recipients}-s${opts.seed}`);
  const marker = path.join(dir, MARKER);
  if (fs.existsSync(marker)) {
    const seed = JSON.parse(fs.readFileSync(marker, 'utf8')) as Seed;
    opts.log(
      `reusing the seed in ${dir} (${seed.recipients} subscribers, made in ${seed.seedSeconds} s on ${seed.createdAt})`,
    );
    return seed;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let databaseUrl = `sqlite:${path.join(dir, 'posthorn.db')}`;
  let pgDatabase: string | null = null;
  if (opts.store === 'postgres') {
    if (!opts.pgBaseUrl)
      throw new Error('--store postgres needs BENCH_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres');
    pgDatabase = pgName(opts.recipients, opts.seed);
    await adminQuery(opts.pgBaseUrl, `DROP DATABASE IF EXISTS ${pgDatabase} WITH (FORCE)`);
    await adminQuery(opts.pgBaseUrl, `CREATE DATABASE ${pgDatabase}`);
    databaseUrl = pgUrl(opts.pgBaseUrl, pgDatabase);
  }

  const t0 = performance.now();
  // Seeding is set-up, not the figure: NORMAL spares a fsync per bulk request (SQLite only).
  const server = await startPosthornProcess({
    env: {
      POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
      POSTHORN_RATE_LIMIT_PER_MINUTE: '0',
      POSTHORN_SQLITE_SYNCHRONOUS: 'NORMAL',
    },
    dataDir: dir,
    databaseUrl,
    role: 'api',
    label: 'seed',
  });
  const key = server.key;
  if (!server.url || !key) throw new Error(`Posthorn printed no URL and key; see ${server.logFile}`);
  const api = new ApiClient(server.url, key);
  let channelId: number;
  let fieldId: number;
  try {
    const domain = await fetch(`${server.url}/v1/domain/sending`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ domain: FROM_DOMAIN, note: 'mailing benchmark' }),
    });
    if (domain.status !== 200 && domain.status !== 201)
      throw new Error(`POST /v1/domain/sending answered ${domain.status}: ${await domain.text()}`);
    channelId = (
      await created(api, '/api/v1/channels', {
        name: 'Bench newsletter',
        senderEmail: SENDER_EMAIL,
        senderName: 'Bench Shop',
      })
    ).id;
    fieldId = (
      await created(api, '/api/v1/customerFields', {
        fieldType: 1,
        type: 1,
        translations: { en: { name: 'hometown' } },
      })
    ).id;
    await bulkSubscribers(api, opts.recipients, opts.seed, channelId, fieldId, opts.log);
  } finally {
    api.close();
    await server.stop();
  }
  const seedSeconds = Math.round((performance.now() - t0) / 100) / 10;

  const store = await openStore(databaseUrl);
  let dkim: { dkim_public_key: string; dkim_selector: string };
  try {
    dkim = await store.db
      .selectFrom('sending_domains')
      .select(['dkim_public_key', 'dkim_selector'])
      .where('domain', '=', FROM_DOMAIN)
      .executeTakeFirstOrThrow();
  } finally {
    await store.close();
  }
  const seed: Seed = {
    recipients: opts.recipients,
    seed: opts.seed,
    store: opts.store,
    dir,
    pgDatabase,
    key,
    channelId,
    fieldId,
    dkimPublicKey: dkim.dkim_public_key,
    dkimSelector: dkim.dkim_selector,
    seedSeconds,
    createdAt: new Date().toISOString(),
  };
  // It holds the seed database's API key: readable by its owner only.
  fs.writeFileSync(marker, JSON.stringify(seed, null, 1), { mode: 0o600 });
  opts.log(`seeded ${opts.recipients} subscribers in ${seedSeconds} s → ${dir}`);
  return seed;
}

/** A copy of the seed for one run (dropped afterwards unless BENCH_KEEP=1). */
export async function copySeed(seed: Seed, pgBaseUrl: string | null): Promise<RunDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-mailing-run-'));
  const keep = process.env.BENCH_KEEP === '1';
  if (seed.store === 'sqlite') {
    // The seed server stopped cleanly, so the WAL was checkpointed into posthorn.db; copy any
    // leftovers too, so the copy is the same database either way.
    for (const f of ['posthorn.db', 'posthorn.db-wal']) {
      const from = path.join(seed.dir, f);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(dataDir, f), fs.constants.COPYFILE_FICLONE);
    }
    return {
      dataDir,
      url: `sqlite:${path.join(dataDir, 'posthorn.db')}`,
      drop: async () => {
        if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  if (!pgBaseUrl || !seed.pgDatabase) throw new Error('a PostgreSQL seed needs BENCH_DATABASE_URL');
  const name = `posthorn_bench_run_${randomBytes(5).toString('hex')}`;
  await adminQuery(pgBaseUrl, `CREATE DATABASE ${name} TEMPLATE ${seed.pgDatabase}`);
  return {
    dataDir,
    url: pgUrl(pgBaseUrl, name),
    drop: async () => {
      if (keep) return;
      await adminQuery(pgBaseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Removes a seed made for this run only (no --data-dir). */
export async function dropSeed(seed: Seed, pgBaseUrl: string | null): Promise<void> {
  if (process.env.BENCH_KEEP === '1') return;
  if (seed.pgDatabase && pgBaseUrl)
    await adminQuery(pgBaseUrl, `DROP DATABASE IF EXISTS ${seed.pgDatabase} WITH (FORCE)`);
  fs.rmSync(seed.dir, { recursive: true, force: true });
}

async function created(api: ApiClient, route: string, body: unknown): Promise<{ id: number }> {
  const res = await api.request('POST', route, body);
  if (res.status !== 201)
    throw new Error(`POST ${route} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
  return res.body.data;
}

/** POST /api/v1/subscribers/bulk in 1,000s from two clients (the fastest way in: ~10,000/s). */
async function bulkSubscribers(
  api: ApiClient,
  total: number,
  seed: number,
  channelId: number,
  fieldId: number,
  log: (line: string) => void,
): Promise<void> {
  const make = makeSubscriberFactory(seed);
  let next = 0;
  let created = 0;
  const t0 = performance.now();
  let lastLog = t0;
  // Rows are made in order (the generator's random stream is sequential), one body at a time.
  const nextBody = (): string | null => {
    if (next >= total) return null;
    const n = Math.min(BULK_BATCH, total - next);
    const subscribers = Array.from({ length: n }, (_, j) => {
      const s = make(next + j);
      return { ...s, channels: [channelId], customerFields: { [fieldId]: s.city } };
    });
    next += n;
    return JSON.stringify({ subscribers });
  };
  const client = async () => {
    for (let body = nextBody(); body !== null; body = nextBody()) {
      const res = await api.request('POST', '/api/v1/subscribers/bulk', body);
      if (res.status !== 200 && res.status !== 201 && res.status !== 207)
        throw new Error(`bulk answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
      if (res.body.meta.failed > 0)
        throw new Error(
          `bulk failed ${res.body.meta.failed} rows: ${JSON.stringify(res.body.data.find((r: { status: string }) => r.status !== 'created')).slice(0, 500)}`,
        );
      created += res.body.meta.created;
      if (performance.now() - lastLog > 10_000) {
        lastLog = performance.now();
        log(`  seeding: ${created} of ${total} subscribers (${Math.round(created / ((lastLog - t0) / 1000))}/s)`);
      }
    }
  };
  await Promise.all([client(), client()]);
  if (created !== total) throw new Error(`seeding created ${created} subscribers, expected ${total}`);
}
