// POSTHORN_API_PROCESSES: several front processes behind the role's ports (node:cluster) on
// PostgreSQL: the HTTP API and the SMTP submission server run in each, sharing rate limits through
// Redis; on SQLite one process and a log line saying why.
// Posthorn runs as `posthorn start` in a child process (the built dist/), as an operator runs it.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dialectName, pgBaseUrl, type TestDatabase } from '../helpers/database.ts';
import nodemailer from 'nodemailer';
import { openStore } from '../../src/store/db.ts';
import { plainAuth, rawSmtp } from '../helpers/smtp-client.ts';
import { REDIS_URL, haveRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/server.ts';
import {
  childrenOf,
  freePort,
  requestOnce as request,
  startChildServer,
  type ChildServer,
} from '../helpers/child-server.ts';

const bin = path.resolve(import.meta.dirname, '../../bin/posthorn.mjs');

/** CPU time (user + system, clock ticks) a process has used so far. */
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

describe.skipIf(pgBaseUrl !== null)(`POSTHORN_API_PROCESSES on SQLite (${dialectName})`, () => {
  let db: TestDatabase;
  let server: ChildServer | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await server?.kill();
    await db.drop();
  });

  it('runs one process and says why', async () => {
    server = await startChildServer(
      {
        DATABASE_URL: db.url,
        POSTHORN_DATA_DIR: db.dataDir,
        POSTHORN_API_PROCESSES: '2',
      },
      { timeoutMs: 90_000 },
    );
    expect(server.output()).toContain('POSTHORN_API_PROCESSES is ignored on SQLite');
    expect(childrenOf(server.process.pid!)).toEqual([]);
    expect((await request(server.url, '/v1/permission', server.firstKey)).status).toBe(200);
  }, 120_000);
});

describe.skipIf(pgBaseUrl === null)(`two API processes on PostgreSQL (${dialectName})`, () => {
  let db: TestDatabase;
  let server: ChildServer | undefined;
  let port: number;
  let key: string;
  const env = () => ({
    DATABASE_URL: db.url,
    POSTHORN_DATA_DIR: db.dataDir,
    POSTHORN_API_PROCESSES: '2',
    POSTHORN_V1_RATE_PER_SECOND: '0',
    POSTHORN_V1_RATE_PER_MINUTE: '10',
    ...(haveRedis ? { REDIS_URL } : {}),
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startChildServer(env(), { timeoutMs: 90_000 });
    port = server.port;
    key = server.firstKey!;
    expect(key).toBeTruthy();
  }, 120_000);
  afterAll(async () => {
    await server?.kill();
    await db?.drop();
  });

  it('answers from both processes', async () => {
    const apiProcesses = childrenOf(server!.process.pid!);
    expect(apiProcesses).toHaveLength(2);
    const before = apiProcesses.map(cpuTicks);
    // The OpenAPI document is a few hundred KB of JSON: each answer costs its process clear CPU time.
    for (let i = 0; i < 60; i++) expect((await request(server!.url, '/v1/openapi.json', null)).status).toBe(200);
    const used = apiProcesses.map((pid, i) => cpuTicks(pid) - before[i]);
    const total = used[0] + used[1];
    // Round robin gives each half; each doing at least a fifth shows both answer (ticks are 10 ms).
    expect(total).toBeGreaterThan(0);
    for (const u of used) expect(u / total, `CPU ticks per process: ${used.join(', ')}`).toBeGreaterThan(0.2);
  });

  it.skipIf(!haveRedis)('counts one key across both processes (limits shared through Redis)', async () => {
    // A key of its own, so the other tests keep their budget of 10 requests a minute.
    const created = execFileSync(process.execPath, [bin, 'keys', 'create', '--name', 'limited', '--json'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, POSTHORN_DATA_DIR: db.dataDir, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    const limited = JSON.parse(created).key as string;
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await request(server!.url, '/v1/permission', limited)).status);
    expect(statuses).toEqual([...Array(10).fill(200), 429]);
  });

  it('keeps what it acknowledged when the primary is killed, leaves no API process behind, and restarts', async () => {
    // A transmission accepted by an API process, captured by the primary's worker.
    const sent = await request(server!.url, '/v1/layang/transmissions', key, {
      from: { email: 'sender@example.com' },
      to: [{ email: 'someone@example.org' }],
      subject: 'Across processes',
      bodyText: 'Hello',
    });
    expect(sent.status, sent.text).toBe(200);
    const apiProcesses = childrenOf(server!.process.pid!);
    expect(apiProcesses).toHaveLength(2);
    await server!.kill();
    // node:cluster ends an API process whose primary is gone: nothing keeps the port.
    await waitFor(
      async () => apiProcesses.every((pid) => !fs.existsSync(`/proc/${pid}`)) || null,
      15_000,
      'the API processes to exit',
    );
    server = await startChildServer(env(), { port, timeoutMs: 90_000 });
    expect(childrenOf(server.process.pid!)).toHaveLength(2);
    const found = await request(server.url, `/v1/messages?size=10`, key);
    expect(found.status, found.text).toBe(200);
    expect(found.body.data.map((m: any) => m.transmissionId)).toContain(sent.body.transmissionId);
  }, 200_000);
});

describe.skipIf(pgBaseUrl === null)(`two SMTP submission processes on PostgreSQL (${dialectName})`, () => {
  let db: TestDatabase;
  let server: ChildServer | undefined;
  let smtpPort: number;
  beforeAll(async () => {
    db = await createTestDatabase();
    smtpPort = await freePort();
    server = await startChildServer(
      {
        DATABASE_URL: db.url,
        POSTHORN_DATA_DIR: db.dataDir,
        POSTHORN_ROLE: 'smtp',
        POSTHORN_API_PROCESSES: '2',
        POSTHORN_SMTP_PORT: String(smtpPort),
        POSTHORN_SMTP_HOST: '127.0.0.1',
        POSTHORN_SMTP_ALLOW_INSECURE_AUTH: 'true',
      },
      { timeoutMs: 90_000 },
    );
  }, 120_000);
  afterAll(async () => {
    await server?.kill();
    await db?.drop();
  });

  it('accepts on both processes, one certificate, and every queued message is in the store', async () => {
    expect(server!.output()).toContain(`SMTP submission: smtp://127.0.0.1:${smtpPort}`);
    const fronts = childrenOf(server!.process.pid!);
    expect(fronts).toHaveLength(2);
    const before = fronts.map(cpuTicks);
    const certificates = new Set<string>();
    const queued: string[] = [];
    // A connection per message (no pool): the cluster hands each to the next process.
    for (let i = 0; i < 40; i++) {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: smtpPort,
        secure: false,
        requireTLS: i % 10 === 0, // a few over STARTTLS, to compare the certificates
        tls: { rejectUnauthorized: false },
        auth: { user: 'any', pass: server!.firstKey! },
      });
      const info = await transport.sendMail({
        from: 'sender@example.com',
        to: `r${i}@example.org`,
        subject: `Message ${i}`,
        text: 'x'.repeat(20_000), // enough work per message for the CPU counters to see both processes
      });
      const id = /queued as (\S+)/.exec(info.response)?.[1];
      expect(id, info.response).toBeTruthy();
      queued.push(id!);
      transport.close();
    }
    for (let i = 0; i < 4; i++) certificates.add(await peerCertificate(smtpPort));
    expect(certificates.size).toBe(1);
    const used = fronts.map((pid, i) => cpuTicks(pid) - before[i]);
    for (const u of used) expect(u, `CPU ticks per process: ${used.join(', ')}`).toBeGreaterThan(0);
    const store = await openStore(db.url);
    try {
      const stored = await store.db.selectFrom('transmissions').select('id').execute();
      expect(new Set(stored.map((t) => t.id))).toEqual(new Set(queued));
    } finally {
      await store.close();
    }
  }, 120_000);
  it('passes refusals through with their own replies (bad key, bad recipient)', async () => {
    for (let i = 0; i < 4; i++) {
      // Four sessions: each front process answers at least one of them (or the one that the OS gave them all).
      const session = await rawSmtp(smtpPort);
      expect((await session.command('EHLO test')).code).toBe(250);
      expect((await session.command(`AUTH PLAIN ${plainAuth('any', 'not-a-key')}`)).code).toBe(535);
      expect((await session.command(`AUTH PLAIN ${plainAuth('any', server!.firstKey!)}`)).code).toBe(235);
      expect((await session.command('MAIL FROM:<sender@example.com>')).code).toBe(250);
      const refused = await session.command('RCPT TO:<not an address>');
      expect(refused.code, refused.text).toBeGreaterThanOrEqual(500);
      expect((await session.command('RCPT TO:<someone@example.org>')).code).toBe(250);
      session.close();
    }
  });
});

/** The fingerprint of the certificate the submission server presents after STARTTLS. */
async function peerCertificate(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let stage = 0;
    let buffer = '';
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (!/^\d{3} [^\r\n]*\r\n/m.test(buffer)) return;
      buffer = '';
      if (stage === 0) socket.write('EHLO test\r\n');
      else if (stage === 1) socket.write('STARTTLS\r\n');
      else if (stage === 2) {
        socket.removeAllListeners('data');
        const secure = tls.connect({ socket, rejectUnauthorized: false }, () => {
          resolve(secure.getPeerCertificate().fingerprint256);
          secure.end();
        });
        secure.on('error', reject);
      }
      stage++;
    });
  });
}
