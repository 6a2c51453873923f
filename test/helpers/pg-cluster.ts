// A PostgreSQL cluster of a test's own (own data directory, own port), which the test may stop and
// start at will: initdb and pg_ctl from the installed PostgreSQL binaries. initdb refuses to run as
// root, so as root the binaries run as the `postgres` user (runuser).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

export interface PgCluster {
  /** postgres://… of the cluster's `postgres` database. */
  url: string;
  port: number;
  start(): Promise<void>;
  /** Fast shutdown: PostgreSQL ends every session and refuses connections until started again. */
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

function userId(name: string): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

/** Why an own cluster cannot run here, or null when it can. */
export function pgClusterUnavailableReason(): string | null {
  const bin = BIN_DIRS.find((d) => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl')));
  if (!bin) return `no PostgreSQL binaries (initdb, pg_ctl) in ${BIN_DIRS.join(', ')}`;
  if (process.getuid?.() === 0 && !userId('postgres'))
    return 'running as root and there is no postgres user for initdb';
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function startPgCluster(): Promise<PgCluster> {
  const bin = BIN_DIRS.find((d) => fs.existsSync(path.join(d, 'initdb')))!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-pg-'));
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? userId('postgres')! : null;
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  const data = path.join(dir, 'data');
  // Asynchronous: a server under test in this process keeps running while PostgreSQL stops and starts.
  const run = async (tool: string, args: string[]) => {
    const file = path.join(bin, tool);
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    await promisify(execFile)(cmd, argv, { cwd: dir });
  };
  await run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  // Durability is not what is tested: no fsync keeps the cluster quick on a busy machine.
  const options =
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 ` +
    '-c fsync=off -c synchronous_commit=off -c full_page_writes=off';
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () => run('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', 'start']),
    stop: () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    destroy: async () => {
      await run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined); // maybe stopped
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
