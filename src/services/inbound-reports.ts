// The reports the inbound receiver kept, for inspection (GET /v1/inbound). An account sees the
// reports matched to it. Reports no account could be matched to (an unknown Message-ID, a message
// deleted since, spam to the postmaster address) belong to nobody; the installation's own account,
// the one made at first start (the operator's), sees them too, and nobody else does: they may
// quote any customer's mail.
import type { Context } from '../context.ts';
import { invalid, notFound } from './errors.ts';
import { getSetting } from '../store/settings.ts';
import {
  findInboundReport,
  listInboundReports,
  type InboundReportRow,
  type InboundReportScope,
} from '../store/inbound.ts';

export const REPORT_KINDS = ['bounce', 'complaint', 'auto_reply', 'unsubscribe', 'unknown'] as const;
export const REPORT_OUTCOMES = ['matched', 'unmatched', 'ignored'] as const;

export interface InboundReportView {
  id: string;
  kind: string;
  format: string;
  outcome: string;
  /** false: matched to no account (only the installation's own account sees these). */
  matched: boolean;
  messageId: string | null;
  mailFrom: string;
  rcptTo: string;
  subject: string | null;
  details: unknown;
  rawBytes: number;
  createdAt: number;
  raw?: string;
}

async function scopeOf(ctx: Context, accountId: string): Promise<InboundReportScope> {
  const operator = await getSetting(ctx.db, 'first_account_id');
  return { accountId, withUnmatched: operator === accountId };
}

function oneOf(field: string, value: string | undefined, allowed: readonly string[]): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!allowed.includes(value)) throw invalid(field, `must be one of ${allowed.join(', ')}`);
  return value;
}

function view(row: Omit<InboundReportRow, 'raw'> & { raw?: string }): InboundReportView {
  let details: unknown = {};
  try {
    details = JSON.parse(row.details);
  } catch {
    // Written by us as JSON; an unreadable one is shown empty rather than failing the list.
  }
  return {
    id: row.id,
    kind: row.kind,
    format: row.format,
    outcome: row.outcome,
    matched: row.account_id !== null,
    messageId: row.message_id,
    mailFrom: row.mail_from,
    rcptTo: row.rcpt_to,
    subject: row.subject,
    details,
    rawBytes: row.raw_bytes,
    createdAt: row.created_at,
    ...(row.raw !== undefined ? { raw: row.raw } : {}),
  };
}

export async function listInbound(
  ctx: Context,
  accountId: string,
  query: { kind?: string; outcome?: string },
  page: number,
  size: number,
): Promise<{ total: number; rows: InboundReportView[] }> {
  const filter = {
    kind: oneOf('kind', query.kind, REPORT_KINDS),
    outcome: oneOf('outcome', query.outcome, REPORT_OUTCOMES),
  };
  const { total, rows } = await listInboundReports(
    ctx.db,
    await scopeOf(ctx, accountId),
    filter,
    (page - 1) * size,
    size,
  );
  return { total, rows: rows.map(view) };
}

/** One report with the message as received (up to the bound it is kept to). */
export async function getInbound(ctx: Context, accountId: string, id: string): Promise<InboundReportView> {
  const row = await findInboundReport(ctx.db, await scopeOf(ctx, accountId), id);
  if (!row) throw notFound('Inbound report');
  return view(row);
}
