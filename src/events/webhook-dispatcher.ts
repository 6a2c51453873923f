// The webhook loop (worker role). Each turn, for every active webhook with work whose lease it can
// take: cut the events after the webhook's cursor into batches — at most 100 events, and only when
// 100 are waiting or the oldest waiting is at least 1 s old — each batch inserted in the same
// transaction that advances the cursor; then POST the webhook's due batches. A non-2xx answer or
// no answer within 10 s schedules the same batch again (same batchId, retryCount + 1) with
// exponential backoff until 24 h after its first attempt, then it is marked failed. Every attempt
// is logged. Leases and cursors live in the database, so every node may run this loop at once.
import type { Logger } from 'pino';
import type { Context } from '../context.ts';
import { newId, randomAlnum } from '../domain/ids.ts';
import { DEFAULT_WEBHOOK_RETRY, nextWebhookAttemptAt, type WebhookRetryPolicy } from '../domain/webhook-backoff.ts';
import {
  internalTypesFor,
  marketingPayloadEvent,
  transactionalPayloadEvent,
  webhookBody,
  type StoredEvent,
  type WebhookSurface,
} from '../domain/webhook-events.ts';
import * as store from '../store/webhooks.ts';
import type { EventRow, WebhookRow } from '../store/webhooks.ts';
import { ATTEMPT_LOG_SIZE } from '../services/webhooks.ts';
import { sendWebhook } from './webhook-sender.ts';
import { StoreOutage } from '../services/store-outage.ts';
import { BackgroundLoop } from '../services/background-loop.ts';

export const BATCH_MAX_EVENTS = 100;
export const BATCH_MAX_WAIT_MS = 1000;
const LEASE_MS = 60_000;
const PARALLEL_WEBHOOKS = 16;
const BATCHES_CUT_PER_TURN = 20;
const BATCHES_SENT_PER_TURN = 4;
const PRUNE_EVERY_MS = 10 * 60_000;
const KEEP_FINISHED_BATCHES_MS = 7 * 24 * 3_600_000;

class CursorMoved extends Error {}

function parseData(data: string | null): Record<string, unknown> {
  if (!data) return {};
  try {
    const value = JSON.parse(data) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const stored = (e: EventRow): StoredEvent => ({
  id: e.id,
  type: e.type,
  messageId: e.message_id,
  transmissionId: e.transmission_id,
  mailingId: e.mailing_id,
  recipient: e.recipient,
  data: parseData(e.data),
  createdAt: e.created_at,
});

export class WebhookDispatcher {
  readonly owner = `wh-${process.pid}-${randomAlnum(6)}`;
  private readonly log: Logger;
  private readonly outage: StoreOutage;
  private readonly policy: WebhookRetryPolicy;
  // While the store is unavailable the loop pauses: it tries again after a growing wait.
  private readonly loop: BackgroundLoop;
  private stopped = false;
  private readonly running = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();
  /** Events up to this id can no longer appear: batches are cut up to here. */
  private safeMark = 0;
  /** A horizon reading waiting for the transactions it saw running to end (PostgreSQL). */
  private candidate: { maxId: number; xmax: bigint } | null = null;
  private lastPrune = 0;

  constructor(private readonly ctx: Context) {
    this.log = ctx.log.child({ component: 'webhooks' });
    this.outage = new StoreOutage(this.log, 'webhook delivery');
    this.policy = { ...DEFAULT_WEBHOOK_RETRY, baseMs: ctx.config.webhooks.retryBaseMs };
    this.loop = new BackgroundLoop({
      turn: () => this.turn(),
      outage: this.outage,
      log: this.log,
      errorMessage: 'webhook dispatcher turn failed',
      errorRestMs: () => ctx.config.webhooks.pollMs,
    });
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop.stop();
    await Promise.allSettled([...this.running.values()]);
  }

  /** One turn: start serving the webhooks with work; resolves to the rest before the next turn. */
  private async turn(): Promise<number> {
    await this.advanceSafeMark();
    const now = this.ctx.clock();
    const ids = await store.findWebhooksWithWork(this.ctx.db, this.safeMark, now, PARALLEL_WEBHOOKS * 2);
    for (const id of ids) {
      if (this.stopped || this.running.size >= PARALLEL_WEBHOOKS) break;
      if (this.running.has(id)) continue;
      const work = this.serve(id)
        .catch((error: unknown) => {
          if (!this.outage.failed(error)) this.log.error({ err: error, webhookId: id }, 'webhook turn failed');
        })
        .finally(() => this.running.delete(id));
      this.running.set(id, work);
    }
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await store.pruneFinishedBatches(this.ctx.db, now - KEEP_FINISHED_BATCHES_MS);
    }
    this.outage.succeeded();
    return this.ctx.config.webhooks.pollMs;
  }

  /** See readEventHorizon: a reading becomes the safe mark once the transactions it saw have ended. */
  private async advanceSafeMark(): Promise<void> {
    const reading = await store.readEventHorizon(this.ctx.db, this.ctx.dialect);
    if (this.ctx.dialect === 'sqlite') {
      this.safeMark = reading.maxId;
      return;
    }
    if (this.candidate && reading.xmin >= this.candidate.xmax) {
      this.safeMark = Math.max(this.safeMark, this.candidate.maxId);
      this.candidate = null;
    }
    if (!this.candidate) this.candidate = { maxId: reading.maxId, xmax: reading.xmax };
  }

  private async serve(id: number): Promise<void> {
    const webhook = await store.leaseWebhook(this.ctx.db, id, this.owner, this.ctx.clock(), LEASE_MS);
    if (!webhook) return;
    try {
      await this.cutBatches(webhook);
      await this.sendDue(webhook);
    } finally {
      await store.releaseWebhook(this.ctx.db, id, this.owner);
    }
  }

  private async cutBatches(webhook: WebhookRow): Promise<void> {
    const surface = webhook.surface as WebhookSurface;
    const types = internalTypesFor(surface, JSON.parse(webhook.events) as string[]);
    let cursor = webhook.cursor;
    const mark = this.safeMark;
    for (let n = 0; n < BATCHES_CUT_PER_TURN && cursor < mark && !this.stopped; n++) {
      const rows = await store.eventsAfter(this.ctx.db, webhook.account_id, types, cursor, mark, BATCH_MAX_EVENTS);
      const now = this.ctx.clock();
      let next: number;
      if (rows.length === BATCH_MAX_EVENTS) next = rows[rows.length - 1].id;
      else if (rows.length === 0 || now - rows[0].created_at >= BATCH_MAX_WAIT_MS)
        next = mark; // all matching events up to the mark are in rows
      else return; // fewer than 100 waiting and the oldest is younger than 1 s: wait for more
      const events = rows.length ? JSON.stringify(await this.payloadEvents(surface, webhook.account_id, rows)) : null;
      try {
        await this.ctx.db.transaction().execute(async (trx) => {
          if (!(await store.advanceCursor(trx, webhook.id, cursor, next))) throw new CursorMoved();
          if (events !== null) {
            await store.insertBatch(trx, {
              id: newId(),
              webhook_id: webhook.id,
              account_id: webhook.account_id,
              events,
              event_count: rows.length,
              retry_count: 0,
              status: 'pending',
              next_attempt_at: now,
              first_attempt_at: null,
              last_attempt_at: null,
              created_at: now,
            });
          }
        });
      } catch (error) {
        if (error instanceof CursorMoved) return; // another node cut this range; its batch stands
        throw error;
      }
      cursor = next;
    }
  }

  private async payloadEvents(
    surface: WebhookSurface,
    accountId: string,
    rows: EventRow[],
  ): Promise<Record<string, unknown>[]> {
    const events = rows.map(stored);
    if (surface === 'marketing') return events.map(marketingPayloadEvent);
    // Metadata is written once, with the injection; later events of the message echo it from there.
    const lacking = [
      ...new Set(events.filter((e) => e.messageId && e.data.metadata === undefined).map((e) => e.messageId!)),
    ];
    const injections = await store.injectionData(this.ctx.db, accountId, lacking);
    return events.map((e) => {
      const injected = e.messageId ? injections.get(e.messageId) : undefined;
      const metadata =
        injected !== undefined ? (parseData(injected).metadata as Record<string, unknown> | undefined) : undefined;
      return transactionalPayloadEvent(e, metadata);
    });
  }

  private async sendDue(webhook: WebhookRow): Promise<void> {
    const due = await store.dueBatches(this.ctx.db, webhook.id, this.ctx.clock(), BATCHES_SENT_PER_TURN);
    for (const batch of due) {
      if (this.stopped) return;
      // Each send may take up to 10 s: keep the lease ahead of it.
      if (!(await store.leaseWebhook(this.ctx.db, webhook.id, this.owner, this.ctx.clock(), LEASE_MS))) return;
      const startedAt = this.ctx.clock();
      const res = await sendWebhook({
        target: webhook.target,
        body: webhookBody(batch.id, batch.retry_count, batch.events),
        secret: webhook.secret,
        authUser: webhook.auth_user,
        authPassword: webhook.auth_password,
        allowPrivateTargets: this.ctx.config.webhooks.allowPrivateTargets,
        signal: this.abort.signal,
      });
      if (this.stopped && !res.ok) return; // cut short by the stop: tried again after the restart, not counted
      const at = this.ctx.clock();
      const firstAttemptAt = batch.first_attempt_at ?? startedAt;
      await store.logAttempt(
        this.ctx.db,
        {
          webhook_id: webhook.id,
          account_id: webhook.account_id,
          batch_id: batch.id,
          retry_count: batch.retry_count,
          event_count: batch.event_count,
          status_code: res.statusCode,
          latency_ms: res.latencyMs,
          error: res.error,
          attempted_at: startedAt,
        },
        ATTEMPT_LOG_SIZE,
      );
      if (res.ok) {
        await store.settleBatch(this.ctx.db, batch.id, {
          status: 'delivered',
          first_attempt_at: firstAttemptAt,
          last_attempt_at: at,
        });
        continue;
      }
      const failures = batch.retry_count + 1;
      const nextAt = nextWebhookAttemptAt(firstAttemptAt, failures, at, this.policy);
      if (nextAt === null)
        this.log.warn(
          { webhookId: webhook.id, batchId: batch.id, attempts: failures },
          'webhook batch failed for 24 h; given up',
        );
      await store.settleBatch(
        this.ctx.db,
        batch.id,
        nextAt === null
          ? { status: 'failed', retry_count: failures, first_attempt_at: firstAttemptAt, last_attempt_at: at }
          : { retry_count: failures, next_attempt_at: nextAt, first_attempt_at: firstAttemptAt, last_attempt_at: at },
      );
    }
  }
}
