// The suppression list as the account sees it: list, look up, add (idempotent) and remove. An entry
// added here has the same consequences as one the policy adds (src/events/suppression-reactions.ts):
// the subscriber with the address is archived. Removing an entry resubscribes nobody: the
// subscriber keeps its status, and reactivation follows the marketing rules.
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound, required } from './errors.ts';
import { isValidEmail } from '../domain/email-address.ts';
import { SUPPRESSION_TYPES, isSuppressionType, suppressionApplies } from '../domain/suppression-policy.ts';
import type { SuppressionType } from '../domain/suppression-policy.ts';
import * as store from '../store/suppressions.ts';
import type { SuppressionRow } from '../store/suppressions.ts';
import { suppressAddress } from '../events/suppression-reactions.ts';

export const REASON_MAX_LENGTH = 1000;

export interface SuppressionView {
  id: string;
  email: string;
  type: SuppressionType;
  reason: string;
  createdAt: number;
  /** Whether the entry holds back transactional mail too (an unsubscribe holds back marketing mail only). */
  blocksTransactional: boolean;
}

export interface SuppressionInput {
  email?: string;
  type?: string;
  reason?: string;
}

export interface SuppressionQuery {
  type?: string;
  email?: string;
}

const view = (row: SuppressionRow): SuppressionView => ({
  id: row.id,
  email: row.email,
  type: row.type as SuppressionType,
  reason: row.reason ?? '',
  createdAt: Number(row.created_at),
  blocksTransactional: suppressionApplies(row.type, true),
});

function parseEmail(raw: string | undefined): string {
  const email = (raw ?? '').trim();
  if (email === '') throw required('email');
  if (!isValidEmail(email)) throw new ServiceError('invalid_email', `email "${email}" is not a valid address`, 'email');
  return email.toLowerCase();
}

function parseType(raw: string | undefined): SuppressionType | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!isSuppressionType(raw)) throw invalid('type', `must be one of ${SUPPRESSION_TYPES.join(', ')}`);
  return raw;
}

export async function listSuppressions(
  ctx: Context,
  accountId: string,
  query: SuppressionQuery,
  page: number,
  size: number,
): Promise<{ total: number; rows: SuppressionView[] }> {
  const type = parseType(query.type);
  const email = query.email === undefined || query.email === '' ? undefined : query.email.trim().toLowerCase();
  const { total, rows } = await store.listSuppressions(ctx.db, { accountId, type, email }, (page - 1) * size, size);
  return { total, rows: rows.map(view) };
}

/** The entry of an address, or null when it is not suppressed. */
export async function lookupSuppression(
  ctx: Context,
  accountId: string,
  rawEmail: string | undefined,
): Promise<{ email: string; entry: SuppressionView | null }> {
  const email = parseEmail(rawEmail);
  const row = await store.findSuppressionByEmail(ctx.db, accountId, email);
  return { email, entry: row ? view(row) : null };
}

/**
 * Adds an address (type `manual` unless given). Idempotent: an address already on the list answers
 * its existing entry (created: false), except that an unsubscribe entry widens to a type that
 * holds back all mail.
 */
export async function createSuppression(
  ctx: Context,
  accountId: string,
  input: SuppressionInput,
): Promise<{ entry: SuppressionView; created: boolean }> {
  const email = parseEmail(input.email);
  const type = parseType(input.type) ?? 'manual';
  const reason = (input.reason ?? '').trim();
  if (/[\u0000-\u001f\u007f]/.test(reason)) throw invalid('reason', 'must be one line without control characters');
  if (reason.length > REASON_MAX_LENGTH) throw invalid('reason', `must be at most ${REASON_MAX_LENGTH} characters`);
  const outcome = await ctx.db
    .transaction()
    .execute((trx) =>
      suppressAddress(trx, { accountId, email, type, reason: reason || 'Added through the API' }, ctx.clock()),
    );
  return { entry: view(outcome.row), created: outcome.created };
}

export async function deleteSuppression(ctx: Context, accountId: string, id: string): Promise<void> {
  if (!(await store.deleteSuppression(ctx.db, accountId, id))) throw notFound('suppression');
}
