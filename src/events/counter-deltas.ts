// Which counters an event moves. Pure: a batch of events becomes one delta per distinct counter
// (account, scope, scope id, day, metric), so writing a batch costs one upsert per counter, not one
// per event. Statistics read these counters and never scan the events table.
import { isHardBounce } from '../domain/bounce-classes.ts';
import { domainOf } from '../domain/email-address.ts';

export interface CountedEvent {
  account_id: string;
  type: string;
  transmission_id?: string | null;
  mailing_id?: string | null;
  recipient?: string | null;
  data?: string | null;
  created_at: number;
}

/** Facts of a transmission that events do not carry themselves but breakdowns group by. */
export interface SourceDimensions {
  sendingDomain: string | null;
  labels: string[];
}

export type CounterScope = 'account' | 'transmission' | 'mailing' | 'sending_domain' | 'recipient_domain' | 'label';

export interface CounterDelta {
  account_id: string;
  scope: CounterScope;
  scope_id: string;
  day: string;
  metric: string;
  value: number;
}

export interface LinkClickDelta {
  account_id: string;
  scope: 'transmission' | 'mailing';
  scope_id: string;
  url: string;
  link_index: number;
  clicks: number;
  unique_clicks: number;
}

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function dataOf(e: CountedEvent): Record<string, unknown> {
  if (!e.data) return {};
  try {
    const v = JSON.parse(e.data) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The metrics one event adds 1 to. */
export function metricsOf(type: string, data: Record<string, unknown>): string[] {
  switch (type) {
    case 'injection':
      return ['injected'];
    case 'delivery':
      return ['sent', 'delivered'];
    case 'delay':
      return ['deferred'];
    case 'bounce': {
      const cls = Number(data.bounceClass ?? 0);
      const kind = isHardBounce(cls) ? 'bounced_hard' : 'bounced_soft';
      // Class 50 at accept or claim time (suppressed) never left; an out-of-band bounce was counted as sent already.
      const left = cls !== 50 && data.outOfBand !== true;
      return left ? ['sent', 'bounced', kind] : ['bounced', kind];
    }
    case 'policy_rejection':
      return ['rejected'];
    case 'open':
      return [
        'opens',
        ...(data.unique === true ? ['unique_opens'] : []),
        ...(data.machine === true ? ['machine_opens'] : []),
      ];
    case 'click':
      return ['clicks', ...(data.unique === true ? ['unique_clicks'] : [])];
    case 'unsubscribe':
      return ['unsubscribes'];
    case 'spam_complaint':
      return ['complaints'];
    default:
      return [];
  }
}

export function counterDeltas(
  events: CountedEvent[],
  dimensionsOf: (transmissionId: string) => SourceDimensions | undefined,
): CounterDelta[] {
  const deltas = new Map<string, CounterDelta>();
  const add = (account_id: string, scope: CounterScope, scope_id: string, day: string, metric: string) => {
    const key = `${account_id}\u0000${scope}\u0000${scope_id}\u0000${day}\u0000${metric}`;
    const d = deltas.get(key);
    if (d) d.value++;
    else deltas.set(key, { account_id, scope, scope_id, day, metric, value: 1 });
  };
  for (const e of events) {
    const metrics = metricsOf(e.type, dataOf(e));
    if (metrics.length === 0) continue;
    const day = utcDay(e.created_at);
    const scopes: Array<[CounterScope, string]> = [['account', '']];
    if (e.transmission_id) scopes.push(['transmission', e.transmission_id]);
    if (e.mailing_id) scopes.push(['mailing', e.mailing_id]);
    if (e.recipient && e.recipient.includes('@'))
      scopes.push(['recipient_domain', domainOf(e.recipient).toLowerCase()]);
    const dims = e.transmission_id ? dimensionsOf(e.transmission_id) : undefined;
    if (dims?.sendingDomain) scopes.push(['sending_domain', dims.sendingDomain]);
    for (const label of new Set(dims?.labels ?? [])) scopes.push(['label', label]);
    for (const [scope, id] of scopes) for (const metric of metrics) add(e.account_id, scope, id, day, metric);
  }
  // A fixed order: concurrent writers (PostgreSQL, several workers) then lock counter rows in the
  // same order and cannot deadlock on them.
  return [...deltas.values()].sort((a, b) => cmp(a, b));
}

function cmp(a: CounterDelta, b: CounterDelta): number {
  for (const k of ['account_id', 'scope', 'scope_id', 'day', 'metric'] as const) {
    if (a[k] < b[k]) return -1;
    if (a[k] > b[k]) return 1;
  }
  return 0;
}

/** Per-link click counts of the click events in a batch (transmission and mailing scopes). */
export function linkClickDeltas(events: CountedEvent[]): LinkClickDelta[] {
  const deltas = new Map<string, LinkClickDelta>();
  for (const e of events) {
    if (e.type !== 'click') continue;
    const data = dataOf(e);
    if (typeof data.url !== 'string') continue;
    const uniqueLink = data.uniqueLink === true ? 1 : 0;
    const scopes: Array<['transmission' | 'mailing', string]> = [];
    if (e.transmission_id) scopes.push(['transmission', e.transmission_id]);
    if (e.mailing_id) scopes.push(['mailing', e.mailing_id]);
    for (const [scope, scope_id] of scopes) {
      const key = `${e.account_id}\u0000${scope}\u0000${scope_id}\u0000${data.url}`;
      const d = deltas.get(key);
      if (d) {
        d.clicks++;
        d.unique_clicks += uniqueLink;
      } else {
        deltas.set(key, {
          account_id: e.account_id,
          scope,
          scope_id,
          url: data.url,
          link_index: Number(data.linkIndex ?? 0),
          clicks: 1,
          unique_clicks: uniqueLink,
        });
      }
    }
  }
  return [...deltas.values()];
}
