// The process's Prometheus instruments (prom-client): what happened to messages and requests in
// this process since it started. Counters are per process, as Prometheus expects: it adds the
// processes up (`sum(rate(...))`). What is the same for every process (the queue in the database)
// is a collect-time gauge instead, see src/services/ops-metrics.ts.
// A leaf module: events, delivery and http count here; it imports nothing of Posthorn.
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface Instruments {
  /** Holds the instruments below and Node's default metrics (RSS, heap, event-loop lag, GC, …). */
  registry: Registry;
  accepted: Counter;
  delivered: Counter;
  deferred: Counter;
  bounced: Counter<'class'>;
  deliveryLatency: Histogram<'outcome'>;
  httpDuration: Histogram<'method' | 'route' | 'status_class'>;
}

let instruments: Instruments | null = null;

/** Made at first use, so a command-line run that counts nothing starts no event-loop monitor. */
export function processInstruments(): Instruments {
  if (instruments) return instruments;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  instruments = {
    registry,
    accepted: new Counter({
      name: 'posthorn_messages_accepted_total',
      help: 'Messages (one per recipient) accepted into the outbox: API, SMTP, mailings, trigger and opt-in mail',
      registers,
    }),
    delivered: new Counter({
      name: 'posthorn_messages_delivered_total',
      help: 'Messages the next hop accepted (250), or kept by the capture inbox (delivery events)',
      registers,
    }),
    deferred: new Counter({
      name: 'posthorn_messages_deferred_total',
      help: 'Temporary failures (4xx, connection); the message is retried',
      registers,
    }),
    bounced: new Counter({
      name: 'posthorn_messages_bounced_total',
      help: 'Bounces and policy rejections by bounce class (10 hard, 20-24 soft, 50 suppressed, ...)',
      labelNames: ['class'],
      registers,
    }),
    deliveryLatency: new Histogram({
      name: 'posthorn_delivery_latency_seconds',
      help: 'From accept to the final outcome of a message (delivered or bounced), retries included',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 72 * 3600],
      registers,
    }),
    httpDuration: new Histogram({
      name: 'posthorn_http_request_duration_seconds',
      help:
        'HTTP requests by route pattern and status class; _count is the request count ' +
        '(rate() of it the request rate)',
      labelNames: ['method', 'route', 'status_class'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
  return instruments;
}

/** The bounce class a recorded event's JSON data carries, without parsing the rest of it. */
function bounceClassOf(data: string | null | undefined): string {
  const match = data ? /"bounceClass":\s*(\d{1,3})\b/.exec(data) : null;
  return match ? match[1] : 'unknown';
}

/**
 * Counts recorded events (src/events/record-events.ts calls this once they are committed, where it
 * can tell): injection → accepted, delivery → delivered, delay → deferred, bounce and
 * policy_rejection → bounced by class.
 */
export function countRecordedEvents(events: ReadonlyArray<{ type: string; data?: string | null }>): void {
  const m = processInstruments();
  let accepted = 0;
  let delivered = 0;
  let deferred = 0;
  for (const e of events) {
    if (e.type === 'injection') accepted++;
    else if (e.type === 'delivery') delivered++;
    else if (e.type === 'delay') deferred++;
    else if (e.type === 'bounce' || e.type === 'policy_rejection') m.bounced.inc({ class: bounceClassOf(e.data) });
  }
  if (accepted) m.accepted.inc(accepted);
  if (delivered) m.delivered.inc(delivered);
  if (deferred) m.deferred.inc(deferred);
}

/** A message reached its final outcome `seconds` after it was accepted. */
export function observeDeliveryLatency(outcome: 'delivered' | 'bounced', seconds: number): void {
  processInstruments().deliveryLatency.observe({ outcome }, Math.max(0, seconds));
}
