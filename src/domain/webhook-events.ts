// Which events each surface's webhooks can subscribe to, how their public names map to the event
// types stored in the events table, and how a stored event is shown in a webhook payload.
// Pure: the dispatcher hands in stored rows and gets the frozen payload objects back.
import { mailingIdJson } from './mailing-id.ts';

export type WebhookSurface = 'transactional' | 'marketing';

export interface WebhookEventType {
  id: number;
  name: string;
  /** The public name a webhook subscribes with and a payload event carries. */
  slug: string;
  detail: string;
  /** The events-table type it comes from. */
  internal: string;
}

export const TRANSACTIONAL_WEBHOOK_EVENTS: readonly WebhookEventType[] = [
  { id: 1, name: 'Injection', slug: 'injection', detail: 'A message was accepted for delivery', internal: 'injection' },
  {
    id: 2,
    name: 'Delivery',
    slug: 'delivery',
    detail: 'The receiving server accepted the message (250)',
    internal: 'delivery',
  },
  {
    id: 3,
    name: 'Delay',
    slug: 'delay',
    detail: 'A temporary failure (4xx); the message will be retried',
    internal: 'delay',
  },
  {
    id: 4,
    name: 'Bounce',
    slug: 'bounce',
    detail: 'The message bounced or was suppressed; carries bounceClass and reason',
    internal: 'bounce',
  },
  { id: 5, name: 'Open', slug: 'open', detail: 'The recipient opened the message (tracking pixel)', internal: 'open' },
  {
    id: 6,
    name: 'Click',
    slug: 'click',
    detail: 'The recipient clicked a tracked link; carries url',
    internal: 'click',
  },
  {
    id: 7,
    name: 'Unsubscribe',
    slug: 'unsubscribe',
    detail: 'The recipient unsubscribed through a link in the message',
    internal: 'unsubscribe',
  },
  {
    id: 8,
    name: 'Spam Complaint',
    slug: 'spam_complaint',
    detail: 'The recipient reported the message as spam',
    internal: 'spam_complaint',
  },
  {
    id: 9,
    name: 'Policy Rejection',
    slug: 'policy_rejection',
    detail: 'Posthorn refused to send the message by policy (e.g. blacklist)',
    internal: 'policy_rejection',
  },
];

export const MARKETING_WEBHOOK_EVENTS: readonly WebhookEventType[] = [
  {
    id: 101,
    name: 'Subscriber created',
    slug: 'subscriber.created',
    detail: 'A subscriber was created',
    internal: 'subscriber.created',
  },
  {
    id: 102,
    name: 'Subscriber updated',
    slug: 'subscriber.updated',
    detail: "A subscriber's data or status changed",
    internal: 'subscriber.updated',
  },
  {
    id: 103,
    name: 'Subscriber unsubscribed',
    slug: 'subscriber.unsubscribed',
    detail: 'A subscriber unsubscribed from a channel or from all',
    internal: 'subscriber.unsubscribed',
  },
  {
    id: 104,
    name: 'Opt-in confirmed',
    slug: 'subscriber.optInConfirmed',
    detail: 'A subscriber confirmed the double opt-in',
    internal: 'subscriber.optInConfirmed',
  },
  {
    id: 105,
    name: 'Mailing sent',
    slug: 'mailing.sent',
    detail: 'A mailing finished sending',
    internal: 'mailing.sent',
  },
  {
    id: 106,
    name: 'Message bounced',
    slug: 'message.bounced',
    detail: 'A message bounced; carries bounceClass and reason',
    internal: 'bounce',
  },
  {
    id: 107,
    name: 'Message complained',
    slug: 'message.complained',
    detail: 'A recipient reported a message as spam',
    internal: 'spam_complaint',
  },
];

export function webhookEventCatalog(surface: WebhookSurface): readonly WebhookEventType[] {
  return surface === 'transactional' ? TRANSACTIONAL_WEBHOOK_EVENTS : MARKETING_WEBHOOK_EVENTS;
}

/** The slugs of `names` that the surface does not know (empty when all are fine). */
export function unknownWebhookEvents(surface: WebhookSurface, names: readonly string[]): string[] {
  const known = new Set(webhookEventCatalog(surface).map((e) => e.slug));
  return names.filter((n) => !known.has(n));
}

/** The events-table types a webhook subscribed to `slugs` reads. */
export function internalTypesFor(surface: WebhookSurface, slugs: readonly string[]): string[] {
  const wanted = new Set(slugs);
  return [
    ...new Set(
      webhookEventCatalog(surface)
        .filter((e) => wanted.has(e.slug))
        .map((e) => e.internal),
    ),
  ];
}

/** A stored event as the dispatcher reads it (data already parsed). */
export interface StoredEvent {
  id: number;
  type: string;
  messageId: string | null;
  transmissionId: string | null;
  mailingId: string | null;
  recipient: string | null;
  data: Record<string, unknown>;
  createdAt: number;
}

/**
 * Transactional payload event: {type, eventId, messageId, transmissionId, recipient, timestamp (ms),
 * metadata, …type-specific fields (bounceClass, reason, url, userAgent …)}. Mailing messages carry
 * mailingId as well. `metadata` is the message's (from its injection) when the event has none.
 */
export function transactionalPayloadEvent(
  event: StoredEvent,
  metadata: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const { metadata: own, ...specific } = event.data;
  return {
    type: event.type,
    eventId: String(event.id),
    messageId: event.messageId,
    transmissionId: event.transmissionId,
    ...(event.mailingId ? { mailingId: mailingIdJson(event.mailingId) } : {}),
    recipient: event.recipient,
    timestamp: event.createdAt,
    metadata: own ?? metadata ?? {},
    ...specific,
  };
}

const MARKETING_NAME = new Map<string, string>(MARKETING_WEBHOOK_EVENTS.map((e) => [e.internal, e.slug]));

/** `YYYY-MM-DD HH:MM:SS` UTC, the marketing surface's date format. */
function marketingDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Marketing payload event: {id, event, createdAt, data:{objectType, …}} in the marketing dialect
 * (camelCase, `YYYY-MM-DD HH:MM:SS` dates, integer subscriber ids).
 */
export function marketingPayloadEvent(event: StoredEvent): Record<string, unknown> {
  const name = MARKETING_NAME.get(event.type) ?? event.type;
  let data: Record<string, unknown>;
  if (name.startsWith('subscriber.')) {
    const { subscriberId, ...rest } = event.data;
    data = { objectType: 'Subscriber', id: subscriberId ?? null, email: event.recipient, ...rest };
  } else if (name === 'mailing.sent') {
    data = { objectType: 'Mailing', id: mailingIdJson(event.mailingId), ...event.data };
  } else {
    const { metadata: _metadata, ...rest } = event.data;
    data = {
      objectType: 'Message',
      messageId: event.messageId,
      mailingId: mailingIdJson(event.mailingId),
      email: event.recipient,
      ...rest,
    };
  }
  return { id: event.id, event: name, createdAt: marketingDate(event.createdAt), data };
}

/** The body of one delivery: `{batchId, retryCount, events}` with the events frozen at batch creation. */
export function webhookBody(batchId: string, retryCount: number, frozenEventsJson: string): string {
  return `{"batchId":${JSON.stringify(batchId)},"retryCount":${retryCount},"events":${frozenEventsJson}}`;
}
