// DKIM signing A/B in one process: event-loop time per message of nodemailer's signer (RSA on the
// event loop, a stream pipeline with setImmediate hops) against src/delivery/dkim.ts (RSA in libuv's
// threadpool). 2,000 messages of ~3 KB, 32 at a time, three rounds each, alternating so that load
// from other processes affects both alike.
//   node bin/run-ts.mjs bench/dkim-sign.ts            (UV_THREADPOOL_SIZE=1 … to try pool sizes)
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import DKIM from 'nodemailer/lib/dkim';
import { createSigner, SIGNED_HEADERS } from '../src/delivery/dkim.ts';
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const ours = createSigner({ domain: 'example.com', selector: 's1', privateKeyPem: privateKey });
const dkim = new DKIM({
  domainName: 'example.com',
  keySelector: 's1',
  privateKey: createPrivateKey(privateKey) as unknown as string,
  headerFieldNames: SIGNED_HEADERS,
});
const theirs = (raw: Buffer) =>
  new Promise<Buffer>((resolve, reject) => {
    const c: Buffer[] = [];
    const o = dkim.sign(raw);
    o.on('data', (x: Buffer) => c.push(x));
    o.on('end', () => resolve(Buffer.concat(c)));
    o.on('error', reject);
  });
const raw = Buffer.from(
  'From: "Shop" <orders@example.com>\r\nTo: "Ada" <ada@example.org>\r\nSubject: Your order 12345\r\nMessage-ID: <x@example.com>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
    'Thank you for your order, here are the details of it =\r\n'.repeat(20) +
    '--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n' +
    '<p>Thank you for your order, <b>Ada</b>. Details follow.</p>\r\n'.repeat(20) +
    '--b--\r\n',
);
async function run(sign: (b: Buffer) => Promise<Buffer>, n: number, conc: number) {
  const e0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (next++ < n) await sign(raw);
    }),
  );
  const e = performance.eventLoopUtilization(e0);
  return { loopMs: e.active / n, wallMs: (performance.now() - t0) / n };
}
for (let r = 0; r < 3; r++) {
  for (const [name, f] of [
    ['nodemailer', theirs],
    ['posthorn', ours],
  ] as const) {
    const x = await run(f, 2000, 32);
    console.log(name.padEnd(11), 'event-loop ms/msg', x.loopMs.toFixed(3), 'wall ms/msg', x.wallMs.toFixed(3));
  }
}
