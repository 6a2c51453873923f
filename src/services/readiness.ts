// Whether this process can do its work (/readyz): the store answers, its schema is the one this
// code expects, and the delivery worker runs where the role has one. Health (/healthz) is only
// "the process answers"; readiness is what a load balancer or an orchestrator routes by.
// The answer names the failing checks, never their errors (those are in the log, once, from the
// store's health tracker): the endpoints are open to anyone who can reach the port.
import type { Context } from '../context.ts';
import type { StoreHealth } from '../store/store-health.ts';
import { appliedMigrations } from '../store/ops-figures.ts';
import { migrationNames } from '../store/migrations.ts';

/** A store that has not answered by then counts as unreachable (pg waits for a connection forever). */
const STORE_TIMEOUT_MS = 2000;
/** Probes within this time share one answer: cheap under any probe rate. */
const FRESH_MS = 1000;

export type CheckName = 'store' | 'migrations' | 'worker';

export interface ReadinessReport {
  ready: boolean;
  /** Each check that applies to this process: ok or failing. */
  checks: Partial<Record<CheckName, 'ok' | 'failing'>>;
}

export interface ReadinessSources {
  ctx: Context;
  health: StoreHealth;
  /** Whether the delivery worker runs; absent when the role has none. */
  workerRunning?: () => boolean;
}

class Timeout extends Error {}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class Readiness {
  private readonly expected: string[];
  private last: { at: number; report: Promise<ReadinessReport> } | null = null;

  constructor(private readonly sources: ReadinessSources) {
    this.expected = migrationNames(sources.ctx.dialect);
  }

  check(): Promise<ReadinessReport> {
    const now = this.sources.ctx.clock();
    if (this.last && now - this.last.at < FRESH_MS) return this.last.report;
    const report = this.evaluate();
    this.last = { at: now, report };
    return report;
  }

  private async evaluate(): Promise<ReadinessReport> {
    const { ctx, health, workerRunning } = this.sources;
    const checks: ReadinessReport['checks'] = {};
    // One read is both checks: the store answers, and with the migrations this code knows.
    let applied: string[] | null = null;
    try {
      applied = await within(appliedMigrations(ctx.db), STORE_TIMEOUT_MS);
    } catch (error) {
      if (!(error instanceof Timeout)) ctx.log.debug({ err: error }, 'readiness: the store did not answer');
    }
    // A read that succeeds ends an outage of lost connections; a store that cannot write (disk
    // full) stays unavailable until a write succeeds again.
    checks.store = applied !== null && health.available ? 'ok' : 'failing';
    if (applied === null) checks.migrations = 'failing';
    else {
      const done = new Set(applied);
      checks.migrations = this.expected.every((name) => done.has(name)) ? 'ok' : 'failing';
    }
    if (workerRunning) checks.worker = workerRunning() ? 'ok' : 'failing';
    return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
  }
}
