// CPU accounting across several processes (Linux /proc): the API processes a cluster primary
// forked, and the PostgreSQL processes serving one database, so a benchmark can say what a message
// costs in total (sum of process CPU times / messages), not just in one process.
import fs from 'node:fs';
import pg from 'pg';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far; NaN once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** The pids of a process's children (field 4 of /proc/<pid>/stat is the parent). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** CPU seconds of a process and its children (the children read directly: they are not reaped yet). */
export function treeCpuSeconds(pid: number): number {
  return [pid, ...childrenOf(pid)].reduce((sum, p) => sum + (processCpuSeconds(p) || 0), 0);
}

export interface PgSnapshot {
  /** CPU seconds per PostgreSQL process: the database's backends and the shared WAL writer, checkpointer, bgwriter. */
  cpu: Map<number, number>;
  walBytes: bigint;
  commits: number;
}

/**
 * What PostgreSQL has done for one database so far: the CPU of its backends (same machine), the
 * WAL position and the commits counted for the database. Backends that appear later count from 0.
 */
export async function pgSnapshot(adminUrl: string, database: string): Promise<PgSnapshot> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const procs = await client.query<{ pid: number }>(
      `select pid from pg_stat_activity
        where (datname = $1 and pid <> pg_backend_pid())
           or backend_type in ('walwriter', 'checkpointer', 'background writer')`,
      [database],
    );
    const wal = await client.query<{ lsn: string }>(`select pg_current_wal_lsn()::text as lsn`);
    const stats = await client.query<{ xact_commit: string }>(
      `select xact_commit from pg_stat_database where datname = $1`,
      [database],
    );
    const cpu = new Map<number, number>();
    for (const { pid } of procs.rows) {
      const s = processCpuSeconds(pid);
      if (!Number.isNaN(s)) cpu.set(pid, s);
    }
    return { cpu, walBytes: lsnBytes(wal.rows[0].lsn), commits: Number(stats.rows[0]?.xact_commit ?? 0) };
  } finally {
    await client.end();
  }
}

/** PostgreSQL's work between two snapshots. */
export function pgDelta(
  before: PgSnapshot,
  after: PgSnapshot,
): { cpuSeconds: number; walBytes: number; commits: number } {
  let cpuSeconds = 0;
  for (const [pid, s] of after.cpu) cpuSeconds += s - (before.cpu.get(pid) ?? 0);
  return {
    cpuSeconds,
    walBytes: Number(after.walBytes - before.walBytes),
    commits: after.commits - before.commits,
  };
}

function lsnBytes(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}
