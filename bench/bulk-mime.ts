// MIME composition of one mailing message, A/B in one process: nodemailer's MailComposer (through
// src/delivery/composer.ts, what the delivery worker uses today) against src/delivery/bulk-mime.ts.
// The message is bench/mailing.ts's newsletter rendered for one subscriber (a few non-ASCII
// characters), click- and open-tracked, with the derived text part and the five bulk-mail
// headers. Rounds alternate so that load from other processes affects both alike; the best round
// counts. Also: the quoted-printable encoder alone on 4 KB of mostly-ASCII text.
//   node bin/run-ts.mjs bench/bulk-mime.ts [-- --seconds 4]
import { performance } from 'node:perf_hooks';
import { composeMessage } from '../src/delivery/composer.ts';
import { composeBulkMessage, type BulkMimeInput } from '../src/delivery/bulk-mime.ts';
import { encodeQuotedPrintable } from '../src/domain/quoted-printable.ts';
import { applyTracking } from '../src/domain/tracking-html.ts';
import { deriveText } from '../src/domain/html-text.ts';
import { listIdHeader, mailingFeedbackId } from '../src/domain/mailing-content.ts';
import type { TransmissionContent } from '../src/domain/transmission-content.ts';
import { readOptions, positiveInt } from './lib/options.ts';
import { printTable, round } from './lib/results.ts';

const opts = readOptions({ seconds: { env: 'BENCH_SECONDS', default: '4' } });
const seconds = positiveInt(opts.seconds, 'seconds');

// bench/mailing.ts's newsletter, rendered for one subscriber.
const LINKS = [
  'https://shop.bench.example/sale?utm_campaign=weekly',
  'https://shop.bench.example/new-arrivals',
  'https://blog.bench.example/posts/42-autumn',
];
const subscriber = { firstname: 'Jürgen', lastname: 'Müller', hometown: 'Köln', city: 'Düsseldorf' };
const messageId = '0192f3a4-5b6c-7d8e-9f00-112233445566';
const unsubscribeUrl = `https://posthorn.bench.example/p/unsubscribe/${'AbCdEf0123456789'.repeat(6)}`;
const renderedHtml = `<!doctype html><html><head><meta charset="utf-8"><title>Weekly</title></head><body style="font-family:sans-serif">
<h1>Hello ${subscriber.firstname} ${subscriber.lastname}!</h1>
<p>Here is what is new for you in ${subscriber.hometown} this week. ${'Autumn is here, and so are our new collections: warm coats, soft scarves and boots for every weather. '.repeat(6)}</p>
<p><a href="${LINKS[0]}">Shop the sale</a></p>
<p>${'Fresh from the workshop: hand-made pieces in small numbers, while they last. '.repeat(4)}<a href="${LINKS[1]}">See the new arrivals</a></p>
<p>${`Our story of the week: how a small team in ${subscriber.city} builds furniture that lasts for decades. `.repeat(3)}<a href="${LINKS[2]}">Read the story</a></p>
<p style="font-size:small">You receive this because you subscribed to the Bench newsletter. <a href="${unsubscribeUrl}">Unsubscribe</a></p>
</body></html>`;
const html = applyTracking(renderedHtml, {
  secret: 'bench-secret',
  publicUrl: 'https://posthorn.bench.example',
  messageId,
  accountId: 'acc_bench',
  open: true,
  click: true,
});
const text = deriveText(html);

const input: BulkMimeInput = {
  from: { email: 'news@shop.bench.example', name: 'Bench Shop' },
  to: { email: 'juergen.12345@subscribers.bench.example', name: `${subscriber.firstname} ${subscriber.lastname}` },
  replyTo: [],
  subject: `Hello ${subscriber.firstname}, this week in ${subscriber.city}`,
  messageId: `${messageId}@shop.bench.example`,
  date: new Date(),
  headers: [
    { name: 'List-Id', value: listIdHeader('acc_bench', { id: 7, name: 'Bench newsletter' }, 'shop.bench.example') },
    {
      name: 'List-Unsubscribe',
      value: `<${unsubscribeUrl}>, <mailto:unsubscribe+${messageId}@bounces.bench.example?subject=unsubscribe>`,
    },
    { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    { name: 'Precedence', value: 'bulk' },
    { name: 'Feedback-ID', value: mailingFeedbackId(42, 'acc_bench') },
  ],
  html,
  text,
};

// The same message through composer.ts, as mailing-source.ts builds it today.
const content: TransmissionContent = {
  from: input.from,
  to: [],
  cc: [],
  replyTo: [],
  subject: input.subject,
  html,
  text,
  templateId: null,
  headers: [],
  attachments: [],
  substitutionData: {},
  metadata: {},
  options: { clickTracking: true, openTracking: true, transactional: false, sandbox: false },
  campaignId: '42',
  labels: [],
};
const viaMailComposer = () =>
  composeMessage({
    content,
    rendered: { subject: input.subject, html, text },
    to: [input.to],
    messageId: input.messageId,
    date: input.date,
    extraHeaders: input.headers,
  });

/** µs per call over rounds of ~roundMs, best round. */
async function measure(run: () => unknown, roundMs: number, rounds: number[]): Promise<void> {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < roundMs) {
    for (let i = 0; i < 20; i++) await run();
    n += 20;
  }
  rounds.push(((performance.now() - t0) * 1000) / n);
}

const qpText = 'Autumn is here, and so are our new collections: warm coats, soft scarves and boots für every weather.\n'
  .repeat(41)
  .slice(0, 4096);
const sample = { mailComposer: (await viaMailComposer()).length, bulkMime: composeBulkMessage(input).length };
console.log(
  `message: HTML ${Buffer.byteLength(html)} B, text ${Buffer.byteLength(text)} B, ${input.headers.length} extra headers; composed ${sample.mailComposer} B (MailComposer), ${sample.bulkMime} B (bulk-mime)`,
);

const results = { mailComposer: [] as number[], bulkMime: [] as number[], qp: [] as number[] };
const roundMs = (seconds * 1000) / 3 / 3;
for (let r = 0; r < 3; r++) {
  await measure(viaMailComposer, roundMs, results.mailComposer);
  await measure(() => composeBulkMessage(input), roundMs, results.bulkMime);
  await measure(() => encodeQuotedPrintable(qpText), roundMs, results.qp);
}
const best = (xs: number[]) => round(Math.min(...xs), 1);
printTable([
  {
    writer: 'MailComposer (composer.ts)',
    'µs/message (best of 3)': best(results.mailComposer),
    rounds: results.mailComposer.map((x) => round(x, 1)).join(' / '),
  },
  {
    writer: 'bulk-mime.ts',
    'µs/message (best of 3)': best(results.bulkMime),
    rounds: results.bulkMime.map((x) => round(x, 1)).join(' / '),
  },
  {
    writer: 'encodeQuotedPrintable, 4 KB',
    'µs/message (best of 3)': best(results.qp),
    rounds: results.qp.map((x) => round(x, 1)).join(' / '),
  },
]);
console.log(`speed-up: ${round(Math.min(...results.mailComposer) / Math.min(...results.bulkMime), 1)}×`);
