// SQLite on a full disk. The database lives on a small tmpfs that this test mounts (it must run as
// root); a filler file takes the rest of the space. A real full filesystem rather than a file-size
// limit (RLIMIT_FSIZE): the limit would apply to the whole test process, and a full disk is what
// happens in production, with SQLite's own ENOSPC handling (SQLITE_FULL) in the path.
// While the disk is full, writes get 503 with Retry-After in the surface's dialect and the log says
// so once, clearly; reads and the process go on. Once space is freed it works again without a
// restart, and every transmission answered 200 before, during and after is delivered, once by
// Message-ID.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { startPosthorn, type Posthorn } from '../../src/app.ts';
import { ApiClient, waitFor } from '../helpers/server.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const DISK_MB = 16;
const RECIPIENTS_PER_TRANSMISSION = 3;

function mountTmpfs(dir: string, mb: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m,mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); // something still holds a file: detach it
  }
}

/** Why this test cannot run here (it mounts a tmpfs), or null. */
function cannotMount(): string | null {
  if (process.platform !== 'linux') return 'mounting a tmpfs needs Linux';
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-mount-probe-'));
  try {
    mountTmpfs(probe, 1);
    unmount(probe);
    return null;
  } catch (error) {
    return `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}`;
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
}

/** Writes zeros into `file` until the filesystem is full. */
function fillDisk(file: string): number {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let written = 0;
  try {
    for (;;) written += fs.writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
    // The last few KiB: smaller writes until not even one more byte fits.
    for (let size = chunk.length / 2; size >= 1; size = Math.floor(size / 2)) {
      try {
        for (;;) written += fs.writeSync(fd, chunk.subarray(0, size));
      } catch {
        /* next smaller size */
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

const reason = cannotMount();
if (reason) console.warn(`faults-sqlite-full is skipped: ${reason}`);

describe.skipIf(reason !== null)('SQLite on a full disk', () => {
  const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-full-'));
  let mounted = false;
  let app: Posthorn | undefined;
  let sink: SmtpSink | undefined;
  let release = () => {};

  afterAll(async () => {
    try {
      release(); // a failed run may leave the relay holding replies, which would hold up the close
      await app?.close().catch(() => undefined);
      await sink?.close();
    } finally {
      if (mounted) unmount(mountPoint);
      fs.rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  it(
    'answers 503 with Retry-After while full, logs it clearly, loses nothing and recovers without a restart',
    { timeout: 90_000 },
    async () => {
      mountTmpfs(mountPoint, DISK_MB);
      mounted = true;
      sink = await startSmtpSink();
      const logLines: any[] = [];
      const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
      const config = loadConfig({
        DATABASE_URL: `sqlite:${path.join(mountPoint, 'posthorn.db')}`,
        POSTHORN_DATA_DIR: mountPoint,
        PORT: '0',
        HOST: '127.0.0.1',
        POSTHORN_SQLITE_SYNCHRONOUS: 'NORMAL',
        POSTHORN_WORKER_POLL_MS: '20',
        POSTHORN_DELIVERY: 'relay',
        POSTHORN_RELAYS: sink.url,
        POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false',
        POSTHORN_INBOUND_PORT: '0', // the inbound receiver's default port is fixed
        POSTHORN_LEASE_SECONDS: '60',
      });
      app = await startPosthorn(config, { log });
      const api = new ApiClient(app.url!, app.firstKey);

      const accepted: string[][] = [];
      let n = 0;
      const submit = () => {
        const recipients = Array.from({ length: RECIPIENTS_PER_TRANSMISSION }, (_, i) => `t${n}-${i}@example.org`);
        n++;
        return api
          .post('/v1/layang/transmissions', {
            from: { email: 'sender@example.com' },
            to: recipients.map((email) => ({ email })),
            subject: 'Disk test',
            // A larger body fills the disk in fewer requests.
            bodyText: `Transmission ${n}\n${'x'.repeat(20_000)}`,
          })
          .then((res) => {
            if (res.status === 200) accepted.push(recipients);
            return res;
          });
      };

      // Accepted before the disk fills up; the relay holds its replies, so that outcomes become known
      // only once the disk is full.
      sink.hold = new Promise<void>((resolve) => (release = resolve));
      for (let i = 0; i < 10; i++) expect((await submit()).status).toBe(200);
      await waitFor(() => Promise.resolve(sink!.held > 0), 10_000, 'messages in flight at the relay');

      const filler = path.join(mountPoint, 'filler');
      fillDisk(filler);
      // The WAL may still have room in pages it already holds: accept until a write no longer fits.
      let refused: Awaited<ReturnType<typeof submit>> | undefined;
      for (let i = 0; i < 500 && !refused; i++) {
        const res = await submit();
        expect([200, 503], res.text).toContain(res.status);
        if (res.status === 503) refused = res;
      }
      expect(refused, 'no accept was refused on a full disk').toBeDefined();
      expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused!.body).toEqual({
        errors: [{ message: 'service unavailable', code: '1503', description: expect.stringContaining('disk full') }],
        message: expect.stringContaining('disk full'),
      });

      // The marketing surface speaks its own dialect; a read still works; the process lives.
      const subscriber = await api.post('/api/v1/subscribers', { email: 'during-full@example.org' });
      expect(subscriber.status, subscriber.text).toBe(503);
      expect(Number(subscriber.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(subscriber.body).toMatchObject({ status: 'error', code: 1001, statusCode: 503 });
      expect((await api.get('/v1/account')).status).toBe(200);

      // The relay answers now: the outcomes cannot be written and wait for space.
      release();
      sink.hold = null;
      await waitFor(
        () => Promise.resolve(logLines.some((l) => /^delivery paused/.test(l.msg))),
        10_000,
        'delivery to pause',
      );

      // One clear line, at error level, naming the cause.
      const fullLines = logLines.filter((l) => /database unavailable: the database disk is full/.test(l.msg));
      expect(fullLines.length, JSON.stringify(logLines.map((l) => l.msg))).toBe(1);
      expect(fullLines[0].level).toBe(50);
      expect(fullLines[0].msg).toContain('SQLITE_FULL');

      // Space is back: accepts work again, no restart.
      fs.rmSync(filler);
      const after = await submit();
      expect(after.status, after.text).toBe(200);
      expect(logLines.some((l) => l.msg === 'database available again')).toBe(true);

      // Everything answered 200 arrives, each recipient with one Message-ID.
      const expected = accepted.flat();
      await sink.waitForCount(expected.length, 60_000);
      await new Promise((r) => setTimeout(r, 500)); // a late duplicate would arrive now
      const byRecipient = new Map<string, Set<string>>();
      for (const m of sink.messages) byRecipient.set(m.to[0], (byRecipient.get(m.to[0]) ?? new Set()).add(m.messageId));
      expect(expected.filter((r) => byRecipient.get(r)?.size !== 1)).toEqual([]);
      expect(byRecipient.size).toBe(expected.length);
      // Not even the allowed duplicate: the outcomes waited for the disk rather than give up.
      expect(sink.messages.length).toBe(expected.length);
      await waitFor(
        () => Promise.resolve(logLines.some((l) => l.msg === 'delivery resumed')),
        10_000,
        'delivery to resume',
      );
    },
  );
});
