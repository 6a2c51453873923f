// Idempotency-Key for every POST of the marketing API: the first request with a key reserves it,
// runs, and leaves its answer; the same key with the same request within the retention time gets
// that answer again without running twice. Another request under a used key is a conflict, and so
// is a retry while the first is still running. Only successful answers are kept: after an error
// the key is free again, so a corrected retry can use it.
import type { Context } from '../context.ts';
import { requestHash } from './transmissions.ts';
import {
  completeIdempotencyKey,
  deleteIdempotencyKey,
  findIdempotencyKey,
  saveIdempotencyKey,
} from '../store/idempotency.ts';

const SCOPE = 'marketing';
/** A reservation this old belongs to a request that died with its process; it no longer blocks. */
const ABANDONED_AFTER_MS = 5 * 60_000;

export type Reservation =
  | { kind: 'reserved' }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'conflict' }
  | { kind: 'in_progress' };

export interface IdempotentRequest {
  accountId: string;
  key: string;
  method: string;
  url: string;
  /** The parsed body, or undefined for a streamed upload (then the key alone names the request). */
  body: unknown;
}

const hashOf = (r: IdempotentRequest) => requestHash({ method: r.method, url: r.url, body: r.body ?? null });

export async function reserveIdempotencyKey(ctx: Context, r: IdempotentRequest): Promise<Reservation> {
  const now = ctx.clock();
  const since = now - ctx.config.idempotencyTtlSeconds * 1000;
  const hash = hashOf(r);
  for (let attempt = 0; attempt < 2; attempt++) {
    const row = { account_id: r.accountId, scope: SCOPE, key: r.key, request_hash: hash, created_at: now };
    if (await saveIdempotencyKey(ctx.db, { ...row, response_status: 0, response_body: '' }, since))
      return { kind: 'reserved' };
    const previous = await findIdempotencyKey(ctx.db, r.accountId, SCOPE, r.key, since);
    if (!previous) continue; // expired between the two statements: try once more
    if (previous.request_hash !== hash) return { kind: 'conflict' };
    if (previous.response_status !== 0)
      return { kind: 'replay', status: previous.response_status, body: previous.response_body };
    if (Number(previous.created_at) >= now - ABANDONED_AFTER_MS) return { kind: 'in_progress' };
    await deleteIdempotencyKey(ctx.db, r.accountId, SCOPE, r.key);
  }
  return { kind: 'in_progress' };
}

export async function completeIdempotentRequest(
  ctx: Context,
  r: Pick<IdempotentRequest, 'accountId' | 'key'>,
  status: number,
  body: string | null,
): Promise<void> {
  if (status >= 200 && status < 300 && body !== null)
    await completeIdempotencyKey(ctx.db, r.accountId, SCOPE, r.key, status, body);
  else await deleteIdempotencyKey(ctx.db, r.accountId, SCOPE, r.key);
}
