// The mailing benchmark's lean SMTP sink: what nodemailer's pool sends it counts exactly like the
// smtp-server based sink would (messages, bytes after dot-unstuffing, Message-IDs, DKIM headers,
// recipients by number, duplicates), and over a raw socket it answers pipelined commands in order
// and finds dot-stuffing and the end of DATA wherever the TCP chunks happen to split them.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import nodemailer from 'nodemailer';
import { startFastSink } from '../../bench/lib/fast-sink.ts';
import type { MailingSink } from '../../bench/lib/mailing-sink.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A message as it is meant (not dot-stuffed): lines starting with dots, one of just `..`, one of just `.`. */
function rawMessage(i: number, opts: { dkim?: boolean; bodyRepeat?: number } = {}): Buffer {
  const headers = [
    ...(opts.dkim ? ['DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s=s1;', '\tb=AAAA'] : []),
    'From: sender@x.example',
    `To: user.${i}@x.example`,
    `Subject: message ${i}`,
    `Message-ID:`,
    ` <msg-${i}@x.example>`,
    '',
  ];
  const body = [
    'Hello,',
    '.starts with a dot',
    '..',
    '.',
    'after the dots',
    ...Array.from({ length: opts.bodyRepeat ?? 1 }, (_, k) => `line ${k} ${'x'.repeat(70)}`),
    '.last line starts with a dot',
  ];
  return Buffer.from([...headers, ...body].join('\r\n') + '\r\n', 'latin1');
}

/** Reads SMTP replies (one per call, multi-line replies joined) from a raw socket. */
function replyReader(socket: net.Socket) {
  let buffered = '';
  const replies: string[] = [];
  let current: string[] = [];
  let waiter: (() => void) | null = null;
  socket.setEncoding('latin1');
  socket.on('data', (text: string) => {
    buffered += text;
    let lf: number;
    while ((lf = buffered.indexOf('\r\n')) >= 0) {
      const line = buffered.slice(0, lf);
      buffered = buffered.slice(lf + 2);
      current.push(line);
      if (line[3] !== '-') {
        replies.push(current.join('\n'));
        current = [];
      }
    }
    waiter?.();
  });
  return async function next(timeoutMs = 2000): Promise<string> {
    const until = Date.now() + timeoutMs;
    while (replies.length === 0) {
      if (Date.now() > until) throw new Error('no SMTP reply in time');
      await new Promise<void>((r) => {
        waiter = r;
        setTimeout(r, 50);
      });
      waiter = null;
    }
    return replies.shift()!;
  };
}

async function connect(sink: MailingSink) {
  const port = Number(new URL(sink.url).port);
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, next: replyReader(socket) };
}

let sink: MailingSink | null = null;
afterEach(async () => {
  await sink?.close();
  sink = null;
});

describe('fast sink', () => {
  it('counts what nodemailer pool connections send, like the smtp-server sink', async () => {
    sink = await startFastSink(1000);
    expect(sink.url).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+\?starttls=off$/);
    const port = Number(new URL(sink.url).port);
    const transport = nodemailer.createTransport({
      pool: true,
      host: '127.0.0.1',
      port,
      secure: false,
      ignoreTLS: true,
      maxConnections: 4,
    });
    const send = (i: number, raw: Buffer) =>
      transport.sendMail({ envelope: { from: 'sender@x.example', to: [`User.${i}@x.example`] }, raw });
    const sent: Buffer[] = [];
    try {
      // The first one alone, so it is the sample; some big ones span many TCP chunks.
      const first = rawMessage(0, { dkim: true });
      sent.push(first);
      const info = await send(0, first);
      expect(info.response).toBe('250 2.0.0 Ok: queued');
      const rest = Array.from({ length: 199 }, (_, k) =>
        rawMessage(k + 1, { dkim: k % 2 === 0, bodyRepeat: k % 50 === 0 ? 2000 : 3 }),
      );
      sent.push(...rest);
      await Promise.all(rest.map((raw, k) => send(k + 1, raw)));
      // The same recipient a second time, in a message of its own.
      const again = rawMessage(1000);
      sent.push(again);
      await send(7, again);
      // And one to an address that is not a numbered recipient.
      await transport.sendMail({
        envelope: { from: 'sender@x.example', to: ['someone@x.example'] },
        raw: rawMessage(1001),
      });
      sent.push(rawMessage(1001));
    } finally {
      transport.close();
    }
    expect(sink.received).toBe(202);
    expect(sink.bytes).toBe(sent.reduce((n, b) => n + b.length, 0));
    expect(sink.messageIds.size).toBe(202);
    expect(sink.messageIds.has('msg-0@x.example')).toBe(true);
    expect(sink.messageIds.has('msg-199@x.example')).toBe(true);
    expect(sink.withoutMessageId).toBe(0);
    expect(sink.dkimSigned).toBe(1 + 100);
    expect(sink.distinctRecipients).toBe(200);
    expect(sink.duplicateRecipients).toBe(1);
    expect(sink.unexpectedRecipients).toBe(1);
    expect(sink.firstAt).not.toBeNull();
    expect(sink.lastAt! >= sink.firstAt!).toBe(true);
    // The sample is the first message byte for byte: nodemailer stuffed the dots, the sink removed them.
    expect(sink.sample?.toString('latin1')).toBe(rawMessage(0, { dkim: true }).toString('latin1'));
    expect(sink.sample?.toString('latin1')).toContain('\r\n..\r\n.\r\nafter the dots\r\n');
  });

  it('answers pipelined commands in order and finds the end of DATA across odd chunks', async () => {
    sink = await startFastSink(10);
    const { socket, next } = await connect(sink);
    expect(await next()).toBe('220 fast-sink ESMTP');
    socket.write('ehlo client\r\n');
    expect(await next()).toBe('250-fast-sink\n250-PIPELINING\n250-8BITMIME\n250-SMTPUTF8\n250 SIZE 52428800');

    socket.write('MAIL FROM:<a@b>\r\nRCPT TO:<c.1@d>\r\nDATA\r\n');
    // Stuffed as on the wire; chunk 1 ends inside `\r\n..a`, chunk 2 inside the terminator.
    const wire = 'Subject: t\r\nMessage-ID: <raw-1@d>\r\n\r\n..a\r\n..\r\nend\r\n.\r\n';
    const cut1 = wire.indexOf('\r\n..a') + 3;
    const cut2 = wire.length - 2;
    for (const piece of [wire.slice(0, cut1), wire.slice(cut1, cut2), wire.slice(cut2)]) {
      socket.write(piece);
      await sleep(20);
    }
    expect([await next(), await next(), await next(), await next()]).toEqual([
      '250 2.0.0 Ok',
      '250 2.0.0 Ok',
      '354 End data with <CR><LF>.<CR><LF>',
      '250 2.0.0 Ok: queued',
    ]);
    expect(sink.received).toBe(1);
    expect(sink.sample?.toString('latin1')).toBe('Subject: t\r\nMessage-ID: <raw-1@d>\r\n\r\n.a\r\n.\r\nend\r\n');
    expect(sink.messageIds).toEqual(new Set(['raw-1@d']));
    expect(sink.distinctRecipients).toBe(1);

    // A whole transaction and what follows it in one write, and the small commands.
    socket.write('rset\r\nMail From:<a@b>\r\nrcpt to:<C.2@D>\r\ndata\r\n.\r\nNOOP\r\nVRFY x\r\nquit\r\n');
    expect([
      await next(),
      await next(),
      await next(),
      await next(),
      await next(),
      await next(),
      await next(),
      await next(),
    ]).toEqual([
      '250 2.0.0 Ok',
      '250 2.0.0 Ok',
      '250 2.0.0 Ok',
      '354 End data with <CR><LF>.<CR><LF>',
      '250 2.0.0 Ok: queued',
      '250 2.0.0 Ok',
      '502 5.5.2 Error: command not recognized',
      '221 2.0.0 Bye',
    ]);
    await new Promise((r) => socket.once('close', r));
    expect(sink.received).toBe(2);
    expect(sink.withoutMessageId).toBe(1);
    expect(sink.distinctRecipients).toBe(2);
  });

  it('gets content, dot-unstuffing and the terminator right wherever a chunk boundary falls', async () => {
    sink = await startFastSink(1000);
    const { socket, next } = await connect(sink);
    await next();
    const meant = (k: number) => `Message-ID: <split-${k}@d>\r\nDKIM-Signature: x\r\n\r\n.\r\n..x\r\n.\r\nz\r\n`;
    const stuffed = (k: number) => meant(k).replace(/^\./gm, '..') + '.\r\n';
    const length = stuffed(10).length;
    let bytes = 0;
    for (let k = 10; k < 10 + length; k++) {
      const wire = stuffed(k);
      const at = k - 10;
      socket.write(`MAIL FROM:<a@b>\r\nRCPT TO:<u.${k}@d>\r\nDATA\r\n${wire.slice(0, at)}`);
      await sleep(3);
      socket.write(wire.slice(at));
      expect([await next(), await next(), await next(), await next()]).toEqual([
        '250 2.0.0 Ok',
        '250 2.0.0 Ok',
        '354 End data with <CR><LF>.<CR><LF>',
        '250 2.0.0 Ok: queued',
      ]);
      bytes += meant(k).length;
    }
    socket.destroy();
    expect(sink.received).toBe(length);
    expect(sink.bytes).toBe(bytes);
    expect(sink.messageIds.size).toBe(length);
    expect(sink.dkimSigned).toBe(length);
    expect(sink.distinctRecipients).toBe(length);
    expect(sink.sample?.toString('latin1')).toBe(meant(10));
  });

  it('takes an empty message and one whose content begins with a stuffed dot, split after the dot', async () => {
    sink = await startFastSink(10);
    const { socket, next } = await connect(sink);
    await next();
    socket.write('MAIL FROM:<a@b>\r\nRCPT TO:<u.1@d>\r\nDATA\r\n.');
    await sleep(20);
    socket.write('.only\r\n.');
    await sleep(20);
    socket.write('\r\nMAIL FROM:<a@b>\r\nRCPT TO:<u.2@d>\r\nDATA\r\n.\r\n');
    const replies = [];
    for (let n = 0; n < 8; n++) replies.push(await next());
    expect(replies.filter((r) => r === '250 2.0.0 Ok: queued')).toHaveLength(2);
    expect(sink.received).toBe(2);
    expect(sink.sample?.toString('latin1')).toBe('.only\r\n');
    expect(sink.bytes).toBe('.only\r\n'.length);
    socket.destroy();
  });
});
