import autocannon from 'autocannon';
import { startChildServer } from '../test/helpers/child-server.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [inFlight, loopDelay, connections, seconds, rate] = process.argv.slice(2).map(Number);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shed-'));
import { createTestDatabase } from '../test/helpers/database.ts';
const db = await createTestDatabase();
const server = await startChildServer({
  POSTHORN_DATA_DIR: dataDir,
  DATABASE_URL: db.url,
  POSTHORN_SHED_DELAY_MS: process.env.DELAY ?? '0',
  POSTHORN_ROLE: 'api',
  POSTHORN_SHED_MAX_IN_FLIGHT: String(inFlight),
  POSTHORN_SHED_EVENT_LOOP_DELAY_MS: String(loopDelay),
  POSTHORN_V1_RATE_PER_SECOND: '0',
  POSTHORN_V1_RATE_PER_MINUTE: '0',
});
const body = JSON.stringify({ from: { email: 'a@example.com' }, to: [{ email: 'b@example.org' }], subject: 'Hi {{x}}', bodyText: 'Hello {{x}}', substitutionData: { x: 'y' } });
const ok: number[] = [];
const slow: number[][] = [];
const server_ms: number[] = [];
const t0 = Date.now();
const WARM = Number(process.env.WARM ?? 2000);
const statuses = new Map<number, number>();
const inst = autocannon({
  url: server.url + '/v1/layang/transmissions',
  method: 'POST',
  headers: { authorization: `Bearer ${server.firstKey}`, 'content-type': 'application/json' },
  requests: [{ method: 'POST', body, onResponse: (status: number, _b: string, _ctx: unknown, headers: Record<string, string>) => {
    if (status === 200 && Date.now() - t0 >= WARM) server_ms.push(Number(headers['x-server-ms']));
  } }],
  connections,
  duration: seconds,
  timeout: 30,
  ...(rate ? { connectionRate: rate } : {}),
});
(inst as any).on('response', (c: any, status: number, _b: number, time: number) => {
  if (Date.now() - t0 - time < WARM) return; // started during the warm-up
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  if (status === 200) ok.push(time);
  if (time > 2000) slow.push([Date.now() - t0, status, Math.round(time)]);
});
const result = await new Promise<any>((r) => inst.on('done', r));
ok.sort((a, b) => a - b);
const p = (q: number) => ok[Math.min(ok.length - 1, Math.floor(q * ok.length))]?.toFixed(0);
server_ms.sort((a, b) => a - b);
const sp = (q: number) => server_ms[Math.min(server_ms.length - 1, Math.floor(q * server_ms.length))];
console.log(JSON.stringify({ sp50: sp(0.5), sp99: sp(0.99), smax: server_ms.at(-1), inFlight, loopDelay, connections, rate, statuses: Object.fromEntries(statuses), okPerSec: (ok.length / (seconds - WARM / 1000)).toFixed(0), p50: p(0.5), p99: p(0.99), max: ok.at(-1)?.toFixed(0), errors: result.errors, timeouts: result.timeouts }));
console.log('slow', slow.length, JSON.stringify(slow.slice(0, 20)));
await server.stop();
await db.drop();
fs.rmSync(dataDir, { recursive: true, force: true });
