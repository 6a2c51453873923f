// A private Postfix instance for comparisons: its own main.cf/master.cf, queue and data directories
// under one temporary directory, smtpd on a loopback port of its own. By default it accepts mail
// from loopback clients and puts every message on the hold queue (an access-table HOLD action): the
// message is written and fsynced to the queue as for any delivery, and then nothing delivers it, so
// the run measures what Posthorn's role `smtp` does: accept durably, deliver nothing. With
// `hold: false` it relays for loopback clients and delivers (bench/mx.ts: `mainCf` adds the
// transport_maps to its exchangers), every service out of the chroot.
// Needs Postfix installed (`apt-get install postfix`) and root (Postfix drops to its own user).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PostfixInstance {
  dir: string;
  port: number;
  /** Queue ids of the messages on the hold queue (each one a fsynced queue file). */
  heldQueueIds(): string[];
  /** Moves every held message to the active queue and delivers it now (postsuper -H, postqueue -f). */
  releaseHeld(): void;
  /**
   * CPU seconds (user + system) of the whole instance so far: the master, the processes it has
   * reaped (their time is added to its children's fields) and those still running.
   */
  cpuSeconds(): number;
  stop(): void;
}

export function postfixAvailable(): boolean {
  try {
    execFileSync('postconf', ['-h', 'mail_version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export interface PostfixOptions {
  /** Hold every message (the default) or deliver it. */
  hold?: boolean;
  /** More main.cf lines (they win over the ones above them). */
  mainCf?: string[];
}

export function startPostfix(port: number, opts: PostfixOptions = {}): PostfixInstance {
  const hold = opts.hold ?? true;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-bench-postfix-'));
  fs.chmodSync(dir, 0o755);
  const etc = path.join(dir, 'etc');
  const queue = path.join(dir, 'queue');
  const data = path.join(dir, 'data');
  for (const d of [etc, queue, data]) fs.mkdirSync(d, { mode: 0o755 });
  execFileSync('chown', ['postfix', data]);
  const main = [
    'compatibility_level = 3.6',
    `queue_directory = ${queue}`,
    `data_directory = ${data}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'myhostname = postfix-bench.localdomain',
    'mydestination =',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    // Every client's mail goes to the hold queue: stored durably, never delivered.
    ...(hold ? ['smtpd_client_restrictions = check_client_access static:HOLD'] : []),
    'smtpd_recipient_restrictions = permit_mynetworks, reject',
    // Its log is thrown away, as Posthorn logs nothing per message at LOG_LEVEL=warn.
    'maillog_file_prefixes = /dev/null',
    'maillog_file = /dev/null',
    'default_process_limit = 100',
    'biff = no',
    ...(opts.mainCf ?? []),
  ];
  fs.writeFileSync(path.join(etc, 'main.cf'), main.join('\n') + '\n');
  // The stock master.cf, with smtpd moved to our port and out of the chroot (no chroot set-up).
  let master = fs
    .readFileSync('/etc/postfix/master.cf', 'utf8')
    .replace(/^smtp\s+inet\s+n\s+-\s+\S+\s+-\s+-\s+smtpd$/m, `127.0.0.1:${port} inet n - n - - smtpd`);
  // Delivering services out of the chroot too: the queue is not where a chroot set-up expects it.
  if (!hold) master = master.replace(/^(\S+\s+(?:unix|unix-dgram|fifo|pass)\s+\S+\s+\S+\s+)y(\s)/gm, '$1n$2');
  if (!master.includes(`127.0.0.1:${port} inet`)) throw new Error('could not find smtpd in /etc/postfix/master.cf');
  fs.writeFileSync(path.join(etc, 'master.cf'), master);
  execFileSync('postfix', ['-c', etc, 'start'], { stdio: 'pipe' });
  return {
    dir,
    port,
    heldQueueIds: () => listFiles(path.join(queue, 'hold')),
    releaseHeld() {
      execFileSync('postsuper', ['-c', etc, '-H', 'ALL'], { stdio: 'pipe' });
      execFileSync('postqueue', ['-c', etc, '-f'], { stdio: 'pipe' });
    },
    cpuSeconds: () => instanceCpuSeconds(Number(fs.readFileSync(path.join(queue, 'pid', 'master.pid'), 'utf8').trim())),
    stop() {
      try {
        execFileSync('postfix', ['-c', etc, 'stop'], { stdio: 'pipe' });
      } finally {
        if (process.env.BENCH_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...listFiles(path.join(dir, entry.name)));
    else out.push(entry.name);
  }
  return out;
}

/** Waits until the postfix master answers on the port (it starts in the background). */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const net = await import('node:net');
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** utime, stime, cutime, cstime of a process (clock ticks), from /proc/<pid>/stat. */
function cpuFields(pid: number): number[] {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .slice(11, 15)
      .map(Number);
  } catch {
    return [0, 0, 0, 0];
  }
}

function instanceCpuSeconds(masterPid: number): number {
  let ticks = cpuFields(masterPid).reduce((a, b) => a + b, 0);
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== masterPid) continue;
    } catch {
      continue;
    }
    const [utime, stime, cutime, cstime] = cpuFields(Number(entry));
    ticks += utime! + stime! + cutime! + cstime!;
  }
  return ticks / 100;
}
