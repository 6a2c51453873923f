// The build threads on their own: messages built there are the messages built on the event loop
// (same structure, a DKIM signature an independent verifier passes), a runaway render is stopped at
// the per-message time limit (its thread replaced, the rest of its batch built), and an accept-time
// check is stopped at its budget.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
// @ts-ignore mailauth ships no type declarations
import { authenticate } from 'mailauth';
import { BuildPool } from '../../src/delivery/build-pool.ts';
import { buildFromSpec, prepareSource } from '../../src/delivery/build-from-spec.ts';
import type { TransmissionSpec } from '../../src/delivery/build-protocol.ts';
import type { MessagesTable } from '../../src/store/schema.ts';
import { DEFAULT_RENDER_LIMITS, type RenderLimits } from '../../src/domain/render.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicKeyB64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

const NESTED = '{% for a in (1..n) %}{% for b in (1..n) %}{% for c in (1..n) %}x{% endfor %}{% endfor %}{% endfor %}';

function spec(html: string): TransmissionSpec {
  return {
    kind: 'transmission',
    content: {
      from: { email: 'news@example.org', name: 'News' },
      to: [{ email: 'a@example.net' }],
      cc: [],
      replyTo: [],
      subject: 'Hello {{ name }}',
      html,
      text: null,
      templateId: null,
      headers: [],
      attachments: [],
      substitutionData: { name: 'Ada', n: 1 },
      metadata: {},
      options: { clickTracking: true, openTracking: true, transactional: true, sandbox: false },
      campaignId: null,
      labels: [],
    },
    dkimKeys: [{ domain: 'example.org', selector: 'sel', privateKeyPem }],
    returnPathDomain: 'example.org',
    dueAt: 0,
  };
}

function row(id: string, data: Record<string, unknown> = {}): MessagesTable {
  return {
    id,
    account_id: 'acc',
    transmission_id: 'tx1',
    mailing_id: null,
    recipient: `${id}@example.net`,
    recipient_name: null,
    recipient_type: 'to',
    recipient_data: JSON.stringify({ substitutionData: data }),
    status: 'sending',
    priority: 0,
    attempts: 1,
    next_attempt_at: 0,
    lease_owner: null,
    lease_expires_at: null,
    last_response: null,
    bounce_class: null,
    message_id_header: null,
    size: null,
    sandbox: 0,
    created_at: 1,
    updated_at: 1,
    delivered_at: null,
  };
}

const tracking = { secret: 'x'.repeat(40), publicUrl: 'https://posthorn.example.net' };
let pool: BuildPool | null = null;

function newPool(opts: { buildTimeoutMs?: number; limits?: RenderLimits } = {}): BuildPool {
  pool = new BuildPool({
    threads: 1,
    buildTimeoutMs: opts.buildTimeoutMs ?? 10_000,
    limits: opts.limits ?? DEFAULT_RENDER_LIMITS,
    tracking,
    log: pino({ level: 'silent' }),
  });
  return pool;
}

afterEach(async () => {
  await pool?.close();
  pool = null;
});

/** The message without what differs on every build: the Date, the signature over it, MIME boundaries. */
function structure(raw: Buffer): string {
  const text = raw.toString('latin1');
  const boundaries = [...text.matchAll(/boundary="?([^";\r\n]+)"?/g)].map((m) => m[1]!);
  let out = text
    .replace(/^DKIM-Signature:[^\r\n]*(\r\n[ \t][^\r\n]*)*\r\n/m, '')
    .replace(/^Date: .*$/m, 'Date: <date>');
  boundaries.forEach((b, i) => (out = out.split(b).join(`<boundary${i}>`)));
  return out;
}

describe('build pool', () => {
  it('builds the same message as the event loop does, signed so that an independent verifier passes it', async () => {
    const s = spec('<p>Hi {{ name }}, <a href="https://example.com/x">read</a> ünïcode</p>');
    const m = row('msg1', { name: 'Grace' });
    const inThread = await newPool().build('k1', s, m, 1_700_000_000_000, 0);
    const here = await buildFromSpec(
      prepareSource(s, DEFAULT_RENDER_LIMITS),
      m,
      { limits: DEFAULT_RENDER_LIMITS, tracking },
      0,
    );
    expect(structure(inThread.raw)).toBe(structure(here.raw));
    expect(inThread.messageIdHeader).toBe('msg1@example.org');
    expect(inThread.envelopeFrom).toBe('bounces+msg1@example.org');
    expect(inThread.raw.toString()).toContain('Hello Grace');

    const result = await authenticate(inThread.raw, {
      resolver: async (name: string, type: string) => {
        if (type === 'TXT' && name === 'sel._domainkey.example.org') return [[`v=DKIM1; k=rsa; p=${publicKeyB64}`]];
        throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      },
      ip: '127.0.0.1',
      helo: 'posthorn.test',
      sender: inThread.envelopeFrom,
      mta: 'sink.test',
      disableArc: true,
      disableBimi: true,
    });
    expect(result.dkim.results.map((r: any) => r.status.result)).toEqual(['pass']);
  });

  it('stops a build past the time limit, replaces the thread and builds the rest of the batch', async () => {
    // Liquid's own limit is far away: only the pool's time limit can stop this render.
    const p = newPool({ buildTimeoutMs: 300, limits: { ...DEFAULT_RENDER_LIMITS, renderLimitMs: 600_000 } });
    const s = spec(`<p>{{ name }} ${NESTED}</p>`);
    const started = Date.now();
    const results = await Promise.allSettled([
      p.build('k', s, row('ok1'), 0, 0),
      p.build('k', s, row('runaway', { n: 2000 }), 0, 0),
      p.build('k', s, row('ok2'), 0, 0),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/took longer than 300 ms and was stopped/);
    expect(p.replaced).toBe(1);
    // Stopped at the limit, not after the render's own course (minutes); tolerant of a loaded machine.
    expect(Date.now() - started).toBeLessThan(60_000);
    // The replacement thread builds.
    const after = await p.build('k', s, row('ok3'), 0, 0);
    expect(after.raw.toString()).toContain('Ada');
  });

  it('fails a message whose template does not render with the template error, and goes on', async () => {
    const p = newPool({ limits: { ...DEFAULT_RENDER_LIMITS, memoryLimit: 1000 } });
    const s = spec('{% for i in (1..n) %}.{% endfor %}');
    await expect(p.build('k', s, row('big', { n: 5000 }), 0, 0)).rejects.toThrow(/memory alloc limit exceeded/);
    await expect(p.build('k', s, row('small', { n: 5 }), 0, 0)).resolves.toMatchObject({
      messageIdHeader: 'small@example.org',
    });
    expect(p.replaced).toBe(0);
  });

  it('answers an accept-time check past its budget as over budget, naming the recipient', async () => {
    const p = newPool();
    const templates = { subject: 'x', html: NESTED, text: null };
    const result = await p.check({
      templates,
      limits: DEFAULT_RENDER_LIMITS,
      dataSets: [
        { index: 0, data: { n: 1 } },
        { index: 3, data: { n: 1000 } },
      ],
      budgetMs: 200,
    });
    expect(result).toEqual({ ok: false, reason: 'budget', index: 3 });
    await expect(
      p.check({ templates, limits: DEFAULT_RENDER_LIMITS, dataSets: [{ index: 0, data: { n: 2 } }], budgetMs: 200 }),
    ).resolves.toEqual({ ok: true });
  });
});
