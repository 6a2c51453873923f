// What the figures were measured on: they mean little without it.
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  sqlite: string;
  platform: string;
}

export function describeMachine(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    /* not Linux: keep os.cpus() */
  }
  const db = new SQLite(':memory:');
  const sqlite = (db.prepare('select sqlite_version() as v').get() as { v: string }).v;
  db.close();
  return {
    cpus: os.availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    sqlite,
    platform: `${os.type()} ${os.release()}`,
  };
}

export function machineLine(m: MachineInfo): string {
  return `${m.cpus} CPU (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, SQLite ${m.sqlite}, ${m.platform}`;
}

/** CPU seconds the whole machine has spent busy (all cores, everything but idle and iowait). */
export function machineBusySeconds(): number {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    void idle;
    void iowait;
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Waits (up to `maxSeconds`) until the machine is quiet: other processes (tests of other people,
 * say) busy less than `threshold` cores over one second. Returns the cores busy at the last look.
 */
export async function waitForQuietMachine(maxSeconds: number, threshold = 0.15): Promise<number> {
  const until = Date.now() + maxSeconds * 1000;
  for (;;) {
    const before = machineBusySeconds();
    await new Promise((r) => setTimeout(r, 1000));
    const busy = machineBusySeconds() - before;
    if (!(busy > threshold) || Date.now() >= until) return Math.round(busy * 100) / 100;
  }
}

/** The commit measured, and how many files under src/ differ from it (others edit the tree while we run). */
export function codeVersion(): { commit: string; modifiedSrcFiles: number } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: REPO }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8', cwd: REPO });
    return { commit, modifiedSrcFiles: status.split('\n').filter(Boolean).length };
  } catch {
    return { commit: 'unknown', modifiedSrcFiles: -1 };
  }
}
