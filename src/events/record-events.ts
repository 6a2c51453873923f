// The one way events are written: the rows and the counters they move, in the caller's transaction,
// so a statistic is never ahead of or behind the events it counts. A batch is aggregated in memory
// first (one upsert per distinct counter, not one per event). The suppression policy reacts to the
// events here too, in the same transaction: whatever recorded a bounce, a complaint, an unsubscribe
// or a delivery, the suppression list and the subscriber follow from the event alone.
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';
import { insertEvents, type NewEvent } from '../store/events.ts';
import type { BulkRows } from '../store/commit-batcher.ts';
import { bumpCounters, bumpLinkClicks, findTransmissionSources } from '../store/counters.ts';
import { counterDeltas, linkClickDeltas, type SourceDimensions } from './counter-deltas.ts';
import { domainOf } from '../domain/email-address.ts';
import { concernsSuppression, type SuppressionPolicy } from '../domain/suppression-policy.ts';
import { applySuppressionPolicy } from './suppression-reactions.ts';
import { countRecordedEvents } from '../metrics/instruments.ts';

export interface RecordOptions {
  /** Dimensions of transmissions written in this same transaction (not readable from the table yet). */
  known?: Array<[transmissionId: string, SourceDimensions]>;
  /**
   * A commit batch's bulk rows: the events join its multi-row insert and their counters are summed
   * over the whole batch, one upsert per distinct counter just before the shared commit.
   */
  bulk?: BulkRows;
  /**
   * The operator's suppression policy (`ctx.config.suppression`). Required when the events include
   * deliveries, bounces, complaints or unsubscribes: recording those without it is refused, as it
   * would silently skip their consequences.
   */
  policy?: SuppressionPolicy;
  /**
   * Where the caller runs work once its transaction has committed (the outcome recorder does): the
   * process's metrics count the events then, not for a transaction that is rolled back and run
   * again. With `bulk`, the batch's commit is used; with neither, they are counted at once.
   */
  afterCommit?: (fn: () => void) => void;
}

// A transmission's sending domain and labels never change: remembered per process.
const CACHE_LIMIT = 20_000;
const dimensionCache = new Map<string, SourceDimensions>();

function remember(id: string, dims: SourceDimensions): void {
  dimensionCache.set(id, dims);
  if (dimensionCache.size > CACHE_LIMIT) dimensionCache.delete(dimensionCache.keys().next().value!);
}

export function transmissionDimensions(fromEmail: string, labels: unknown): SourceDimensions {
  return {
    sendingDomain: fromEmail.includes('@') ? domainOf(fromEmail) : null,
    labels: Array.isArray(labels)
      ? labels.filter((l): l is string => typeof l === 'string' && l !== '').slice(0, 20)
      : [],
  };
}

async function loadDimensions(trx: Transaction<Database>, ids: string[]): Promise<void> {
  const missing = ids.filter((id) => !dimensionCache.has(id));
  for (const t of await findTransmissionSources(trx, missing)) {
    let labels: unknown = [];
    try {
      labels = t.labels ? JSON.parse(t.labels) : [];
    } catch {
      // Unreadable labels: counted without them rather than not at all.
    }
    remember(t.id, transmissionDimensions(t.from_email, labels));
  }
}

const batched = new WeakMap<BulkRows, NewEvent[]>();

export async function recordEvents(
  trx: Transaction<Database>,
  events: NewEvent[],
  opts: RecordOptions = {},
): Promise<void> {
  if (events.length === 0) return;
  for (const [id, dims] of opts.known ?? []) remember(id, dims);
  const { bulk, policy } = opts;
  if (!policy && events.some(concernsSuppression))
    throw new Error('recordEvents: delivery, bounce, complaint and unsubscribe events need opts.policy');
  const count = () => countRecordedEvents(events);
  if (opts.afterCommit) opts.afterCommit(count);
  else if (bulk) bulk.afterCommit(count);
  if (!bulk) {
    await insertEvents(trx, events);
    await countEvents(trx, events);
    // After the events, so the subscriber events it causes come after them in the stream.
    if (policy) await applySuppressionPolicy(trx, events, policy);
    if (!opts.afterCommit) count();
    return;
  }
  if (policy) await applySuppressionPolicy(trx, events, policy);
  bulk.insert('events', events);
  let pending = batched.get(bulk);
  if (!pending) {
    const list: NewEvent[] = [];
    batched.set(bulk, (pending = list));
    bulk.finishOnce('event-counters', async (batchTrx) => {
      batched.delete(bulk);
      await countEvents(batchTrx, list);
    });
  }
  pending.push(...events);
}

async function countEvents(trx: Transaction<Database>, events: NewEvent[]): Promise<void> {
  await loadDimensions(trx, [...new Set(events.map((e) => e.transmission_id).filter((id): id is string => !!id))]);
  await bumpCounters(
    trx,
    counterDeltas(events, (id) => dimensionCache.get(id)),
  );
  const links = linkClickDeltas(events);
  if (links.length > 0) await bumpLinkClicks(trx, links);
}
