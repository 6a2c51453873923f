// A fresh, empty database per benchmark run: a SQLite file in a new temporary directory, or a new
// PostgreSQL database created next to BENCH_DATABASE_URL's and dropped afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/db.ts';

export type StoreKind = 'sqlite' | 'postgres';

export interface BenchDatabase {
  kind: StoreKind;
  url: string;
  dataDir: string;
  /** A connection from the benchmark process, for setup and for the checks after a run. */
  open(): Promise<Store>;
  drop(): Promise<void>;
}

export async function createBenchDatabase(kind: StoreKind, pgBaseUrl: string | null): Promise<BenchDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-bench-'));
  const keep = process.env.BENCH_KEEP === '1';
  if (kind === 'sqlite') {
    const url = `sqlite:${path.join(dataDir, 'posthorn.db')}`;
    return {
      kind,
      url,
      dataDir,
      open: () => openStore(url),
      drop: async () => {
        if (!keep) fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  if (!pgBaseUrl)
    throw new Error('PostgreSQL runs need BENCH_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres');
  const name = `posthorn_bench_${randomBytes(5).toString('hex')}`;
  await adminQuery(pgBaseUrl, `CREATE DATABASE ${name}`);
  const u = new URL(pgBaseUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    kind,
    url,
    dataDir,
    open: () => openStore(url, { poolSize: 2 }),
    drop: async () => {
      if (keep) return;
      await adminQuery(pgBaseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
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

/** The stores to run on: SQLite always, PostgreSQL too when a URL is given (BENCH_STORES narrows it). */
export function storesToRun(pgBaseUrl: string | null, only: string): StoreKind[] {
  const wanted = only ? only.split(',').map((s) => s.trim()) : ['sqlite', 'postgres'];
  const kinds: StoreKind[] = [];
  if (wanted.includes('sqlite')) kinds.push('sqlite');
  if (wanted.includes('postgres') && pgBaseUrl) kinds.push('postgres');
  if (wanted.includes('postgres') && !pgBaseUrl && only.includes('postgres'))
    throw new Error('--stores postgres needs BENCH_DATABASE_URL');
  return kinds;
}
