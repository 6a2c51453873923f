// Opens and clicks: verify the signed token, record an `open` or `click` event (user agent,
// truncated IP, machine flag, unique or repeat) with its counters, and note the subscriber's last
// open/click. Writes share the commit batcher's group commits, so a burst of pixel fetches costs
// a few transactions; the answer waits for the commit (the event is durable when we reply).
import type { Context } from '../context.ts';
import { verifyTrackingToken, type TrackingPayload } from '../domain/tracking-tokens.ts';
import { isMachineFetch, truncateIp } from '../domain/tracking-clients.ts';
import {
  claimFirsts,
  findTrackedMessage,
  touchSubscriberEngagement,
  type TrackedMessage,
} from '../store/engagement.ts';
import { urlHash } from '../store/counters.ts';
import { recordEvents } from '../events/record-events.ts';

export interface TrackingClient {
  userAgent: string | null;
  ip: string | null;
}

/** True when the token is authentic (the pixel is served); false for a forged or altered one. */
export async function recordOpen(ctx: Context, token: string, client: TrackingClient): Promise<boolean> {
  const payload = verifyTrackingToken(ctx.secret, token, 'open');
  if (!payload) return false;
  await record(ctx, payload, client);
  return true;
}

/** The link's original URL when the token is authentic; null otherwise (nothing is redirected). */
export async function recordClick(ctx: Context, token: string, client: TrackingClient): Promise<string | null> {
  const payload = verifyTrackingToken(ctx.secret, token, 'click');
  if (!payload) return null;
  await record(ctx, payload, client);
  return payload.url!;
}

/** The link of an authentic click token, without recording anything. */
export function clickTarget(ctx: Context, token: string): string | null {
  return verifyTrackingToken(ctx.secret, token, 'click')?.url ?? null;
}

async function record(ctx: Context, p: TrackingPayload, client: TrackingClient): Promise<void> {
  const m = await findTrackedMessage(ctx.db, p.accountId, p.messageId);
  // The link is authentic but its message is gone (retention, erasure): the reader still gets the
  // pixel or the page, there is just nothing left to count it against.
  if (!m) return;
  const at = ctx.clock();
  const userAgent = client.userAgent ? client.userAgent.slice(0, 512) : null;
  const machine = isMachineFetch({ userAgent, deliveredAt: m.delivered_at, at });
  const linkKind = p.kind === 'click' ? `click:${urlHash(p.url!)}` : null;
  await ctx.batcher.run(async (trx, bulk) => {
    const firsts = await claimFirsts(trx, m.account_id, m.id, linkKind ? ['click', linkKind] : ['open'], at);
    const data = {
      userAgent,
      ip: truncateIp(client.ip),
      machine,
      unique: firsts.has(p.kind),
      ...(linkKind ? { url: p.url, linkIndex: p.linkIndex, uniqueLink: firsts.has(linkKind) } : {}),
    };
    await recordEvents(
      trx,
      [
        {
          account_id: m.account_id,
          type: p.kind,
          message_id: m.id,
          transmission_id: m.transmission_id,
          mailing_id: m.mailing_id,
          recipient: m.recipient,
          data: JSON.stringify(data),
          created_at: at,
        },
      ],
      { bulk },
    );
    const subscriberId = subscriberOf(m);
    // A proxy's prefetch says nothing about the reader: behaviour fields follow people only.
    if (subscriberId !== null && !machine)
      await touchSubscriberEngagement(
        trx,
        m.account_id,
        subscriberId,
        p.kind === 'open' ? 'last_opened_at' : 'last_clicked_at',
        at,
      );
  });
}

function subscriberOf(m: TrackedMessage): number | null {
  const id = m.subscriber_id;
  return id === undefined || id === null ? null : Number(id);
}
