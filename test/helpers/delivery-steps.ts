// A world for the delivery steps' own tests: a real Posthorn that runs its API only (no delivery
// worker, so accepted messages stay queued for the test to claim), its real store, the build threads,
// an outcome recorder, and a real SMTP server (smtp-server) behind the relay transport.
import pino from 'pino';
import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from './server.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';
import type { Context } from '../../src/context.ts';
import type { MessagesTable } from '../../src/store/schema.ts';
import { loadConfig } from '../../src/config.ts';
import { BuildPool } from '../../src/delivery/build-pool.ts';
import { MessageBuilder } from '../../src/delivery/build-message.ts';
import { OutcomeRecorder } from '../../src/delivery/outcome-recorder.ts';
import { PriorityGate } from '../../src/delivery/priority-gate.ts';
import { createRelayTransport } from '../../src/delivery/transports/relay.ts';
import type { Transport } from '../../src/delivery/transports/transport.ts';
import type { Pipeline } from '../../src/delivery/pipeline.ts';
import { claimMessages } from '../../src/delivery/steps/claim.ts';

/** The lease owner the tests claim as (the recorder applies outcomes only to its own claims). */
export const OWNER = 'w-steps-test';

export interface StepWorld {
  server: TestServer;
  ctx: Context;
  sink: SmtpSink;
  pool: BuildPool;
  builder: MessageBuilder;
  transport: Transport;
  recorder: OutcomeRecorder;
  pipeline: Pipeline;
  /** A recipient address of its own per call. */
  address(tag: string): string;
  /** Accepts a transmission to `recipients` through the API; returns its id. */
  accept(recipients: string[], body?: Record<string, unknown>): Promise<string>;
  /** Claims every due message (as the worker would, under OWNER's lease); those of `transmissionIds`. */
  claim(...transmissionIds: string[]): Promise<MessagesTable[]>;
  /** The stored row of a message. */
  row(id: string): Promise<MessagesTable>;
  /** The events of a message, oldest first, with their data parsed. */
  events(id: string): Promise<Array<{ type: string; data: Record<string, unknown> }>>;
  close(): Promise<void>;
}

let unique = 0;

export async function startStepWorld(): Promise<StepWorld> {
  const sink = await startSmtpSink();
  const server = await startTestServer({ POSTHORN_ROLE: 'api', POSTHORN_REQUIRE_VERIFIED_DOMAIN: 'false' });
  const ctx = server.app.ctx;
  const log = pino({ level: 'silent' });
  const tracking = { secret: ctx.secret, publicUrl: ctx.config.publicUrl };
  const pool = new BuildPool({
    threads: 1,
    buildTimeoutMs: ctx.config.rendering.buildTimeoutMs,
    limits: ctx.config.rendering.limits,
    tracking,
    log,
  });
  pool.start();
  const builder = new MessageBuilder(ctx.db, ctx.config.returnPathDomain, pool, tracking, ctx.clock);
  const relayConfig = loadConfig({ POSTHORN_DELIVERY: 'relay', POSTHORN_RELAYS: sink.url });
  const transport = createRelayTransport(relayConfig.relays, {
    log,
    timeoutMs: 10_000,
    transactionTimeoutMs: relayConfig.worker.smtpTransactionTimeoutMs,
    maxConnections: 2,
  });
  const recorder = new OutcomeRecorder(ctx.db, OWNER, log, ctx.config.suppression, 256, 5);
  const world: StepWorld = {
    server,
    ctx,
    sink,
    pool,
    builder,
    transport,
    recorder,
    pipeline: {
      builder,
      buildGate: new PriorityGate(4),
      transport,
      recorder,
      retry: ctx.config.worker,
      clock: ctx.clock,
    },
    address: (tag) => `${tag}-${++unique}-${randomBytes(3).toString('hex')}@example.org`,
    async accept(recipients, body = {}) {
      const res = await server.api.post('/v1/layang/transmissions', {
        from: { email: 'sender@example.com' },
        to: recipients.map((email) => ({ email })),
        subject: 'Hello {{ name }}',
        bodyText: 'Hello {{ name }}',
        substitutionData: { name: 'Ada' },
        ...body,
      });
      if (res.status !== 200) throw new Error(`the transmission was refused: ${res.status} ${res.text}`);
      return res.body.transmissionId as string;
    },
    async claim(...transmissionIds) {
      const claimed = await claimMessages(ctx, OWNER, ctx.clock(), { limit: 1000, urgentOnly: false });
      return claimed.filter((m) => transmissionIds.includes(m.transmission_id!));
    },
    row: (id) => ctx.db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
    async events(id) {
      const rows = await ctx.db.selectFrom('events').selectAll().where('message_id', '=', id).orderBy('id').execute();
      return rows.map((r) => ({ type: r.type, data: JSON.parse(r.data ?? '{}') as Record<string, unknown> }));
    },
    async close() {
      await recorder.drain();
      await transport.close();
      await pool.close();
      await server.close();
      await sink.close();
    },
  };
  return world;
}
