// What GET /metrics shows: the process's instruments (src/metrics/instruments.ts) and gauges read
// when Prometheus scrapes: the outbox by status and the webhook backlog (from the database, the
// same numbers as GET /v1/metrics/now, through QueueFigures' short cache) and whether the store is
// available. A gauge whose read fails (the store is down) shows no value in that scrape (the queue's
// series are left out, a single gauge is NaN) rather than a stale or a made-up one; the scrape
// itself still answers.
import { Gauge, Registry } from 'prom-client';
import type { StoreHealth } from '../store/store-health.ts';
import { processInstruments } from '../metrics/instruments.ts';
import type { QueueFigures } from './queue-figures.ts';

export interface MetricsSources {
  figures: QueueFigures;
  health: StoreHealth;
}

export function createMetricsRegistry({ figures, health }: MetricsSources): Registry {
  const own = new Registry();
  const registers = [own];
  new Gauge({
    name: 'posthorn_queue_messages',
    help: 'Outbox rows to be sent, by status (queued, sending, deferred); the whole database',
    labelNames: ['status'],
    registers,
    async collect() {
      this.reset();
      try {
        const depth = await figures.queueDepth();
        for (const status of ['queued', 'sending', 'deferred'] as const) this.set({ status }, depth[status]);
      } catch {
        // Left out of this scrape; posthorn_store_available says why.
      }
    },
  });
  new Gauge({
    name: 'posthorn_webhook_pending_batches',
    help: 'Webhook batches made and not yet delivered (waiting for their first try or a retry)',
    registers,
    async collect() {
      try {
        this.set((await figures.webhookBacklog()).batches);
      } catch {
        this.set(NaN);
      }
    },
  });
  new Gauge({
    name: 'posthorn_webhook_pending_events',
    help: 'Events in the pending webhook batches',
    registers,
    async collect() {
      try {
        this.set((await figures.webhookBacklog()).events);
      } catch {
        this.set(NaN);
      }
    },
  });
  new Gauge({
    name: 'posthorn_store_available',
    help: "1 while the database serves this process's statements; 0 during an outage (lost connection, disk full)",
    registers,
    collect() {
      this.set(health.available ? 1 : 0);
    },
  });
  return Registry.merge([processInstruments().registry, own]);
}
