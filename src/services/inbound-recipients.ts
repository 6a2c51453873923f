// Which RCPT TO addresses the inbound receiver takes mail for: the return-path addresses of our own
// messages and the report mailboxes of our return-path hosts. Everything else is relaying, refused.
import type { Context } from '../context.ts';
import { parseReturnPathAddress } from '../domain/return-path-address.ts';
import { findOutboxMessage, isSendingDomain } from '../store/inbound.ts';
import { returnPathTarget } from './domains.ts';

/**
 * A VERP address (`bounces+<id>@…`, `unsubscribe+<id>@…`) is ours when its id names an outbox
 * message (its host is then whatever return path that message went out with: the configured bounce
 * domain, `bounces.<domain>` or the From domain itself) or when its host is a return-path host.
 * The report mailboxes (bounces@, fbl@, postmaster@, abuse@) only at return-path hosts: the
 * configured bounce domain (or PUBLIC_URL's host), this host's name, a sending domain of any
 * account, or `bounces.<sending domain>`.
 */
export async function acceptsInboundRecipient(ctx: Context, address: string): Promise<boolean> {
  const parsed = parseReturnPathAddress(address);
  if (!parsed) return false;
  if (parsed.kind !== 'mailbox' && (await findOutboxMessage(ctx.db, parsed.messageId))) return true;
  return isReturnPathHost(ctx, parsed.domain);
}

async function isReturnPathHost(ctx: Context, host: string): Promise<boolean> {
  if (host === returnPathTarget(ctx.config) || host === ctx.config.hostname.toLowerCase()) return true;
  const candidates = host.startsWith('bounces.') ? [host, host.slice('bounces.'.length)] : [host];
  return isSendingDomain(ctx.db, candidates);
}
