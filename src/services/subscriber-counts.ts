// Exact list totals without counting again and again. `meta.pagination.total` of a subscriber list
// is a COUNT over the filter; over a million subscribers a filter matching most of them costs
// 70–200 ms, and a client paging through one result asks for the same total on every page.
// On SQLite the store keeps a generation number that every write to subscribers (or their custom
// values) bumps by trigger, so a total computed under generation g is still exact while the
// generation is g. PostgreSQL (possibly several processes) always counts.
import type { Context } from '../context.ts';
import * as store from '../store/subscribers.ts';
import { readSubscriberGeneration } from '../store/subscriber-generation.ts';

const MAX_ENTRIES = 1000;
const caches = new WeakMap<object, Map<string, { generation: number; total: number }>>();

export async function countSubscribersRemembered(ctx: Context, filter: store.SubscriberFilter): Promise<number> {
  if (ctx.dialect !== 'sqlite') return store.countSubscribers(ctx.db, filter);
  let cache = caches.get(ctx.db);
  if (!cache) caches.set(ctx.db, (cache = new Map<string, { generation: number; total: number }>()));
  // The generation is read before counting: a write that lands in between makes the entry look
  // older than it is (it is recounted next time), never newer.
  const generation = await readSubscriberGeneration(ctx.db);
  const key = `${filter.accountId}\u0000${JSON.stringify(filter.search)}`;
  const hit = cache.get(key);
  if (hit && hit.generation === generation) return hit.total;
  const total = await store.countSubscribers(ctx.db, filter);
  cache.delete(key);
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, { generation, total });
  return total;
}
