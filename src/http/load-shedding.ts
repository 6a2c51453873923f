// Load shedding: when the server is saturated, a new API request is answered at once with 503 and
// Retry-After (in its surface's dialect) instead of joining a queue whose wait grows without bound.
// Two signals, each with its configured bound (0 turns it off):
// - API requests in flight in this process (admitted, not yet answered; the commit batcher's
//   pending accepts are among them): with the server's throughput, this bounds how long an
//   admitted request waits (Little's law). Measured with 600 clients sending as fast as they are
//   answered (2 cores): p99 of the answered requests 534 ms with a bound of 64, 1.2 s (max 2.2 s)
//   without; it is the default signal.
// - event loop delay: how late a timer fires (the 99th percentile over SAMPLE_MS). A loop that is
//   late makes every request wait before it is even read; shedding on it alone left p99 at
//   1.5–1.9 s in the same measurement (the wait happens before the request can be refused), so it
//   is off by default: a guard against a loop stuck by something else than API requests.
// It runs first of all hooks, so a shed request costs no authentication, no body parsing and no
// database work.
//
// A client that ignores Retry-After and comes back at once on the same connection (a retry storm,
// or a load generator) has that request held until its Retry-After has passed, and then refused
// too; its next request is weighed as usual. Without this, refusals cost so little that such
// clients send thousands a second, and the event loop spends its turns refusing them while each
// database round trip of an admitted request waits for a turn: on PostgreSQL, 256 such clients
// cut the answered transmissions to a quarter, with p99 above 2 s. Clients that honour
// Retry-After are never held.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.ts';
import type { Surface } from './surface.ts';

const SAMPLE_MS = 50;

export interface LoadState {
  inFlight: number;
  /** The event loop's delay over the last sample (ms, the histogram's 99th percentile). */
  eventLoopDelayMs: number;
}

export function registerLoadShedding(app: FastifyInstance, ctx: Context, surfaceFor: (url: string) => Surface): void {
  const { maxInFlight, maxEventLoopDelayMs, retryAfterSeconds } = ctx.config.loadShedding;
  if (maxInFlight === 0 && maxEventLoopDelayMs === 0) return;
  const state: LoadState = { inFlight: 0, eventLoopDelayMs: 0 };

  if (maxEventLoopDelayMs > 0) {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    const timer = setInterval(() => {
      state.eventLoopDelayMs = histogram.percentile(99) / 1e6;
      histogram.reset();
    }, SAMPLE_MS);
    timer.unref();
    app.addHook('onClose', async () => {
      clearInterval(timer);
      histogram.disable();
    });
  }

  const isApi = (request: FastifyRequest) => request.routeOptions.config?.permission !== undefined;
  /** Per connection: until when (performance.now() ms) its last 503 told it to wait. */
  const retryNotBefore = new WeakMap<object, number>();
  const refuse = (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('Retry-After', String(retryAfterSeconds));
    return surfaceFor(request.url).protocol(reply, 503, 'the server is overloaded; retry after Retry-After seconds');
  };

  app.addHook('onRequest', async (request, reply) => {
    if (!isApi(request)) return;
    const socket = request.raw.socket;
    const early = (retryNotBefore.get(socket) ?? 0) - performance.now();
    if (early > 0) {
      retryNotBefore.delete(socket);
      await new Promise((resolve) => setTimeout(resolve, early));
      return refuse(request, reply);
    }
    const overloaded =
      (maxInFlight > 0 && state.inFlight >= maxInFlight) ||
      (maxEventLoopDelayMs > 0 && state.eventLoopDelayMs > maxEventLoopDelayMs);
    if (overloaded) {
      retryNotBefore.set(socket, performance.now() + retryAfterSeconds * 1000);
      return refuse(request, reply);
    }
    state.inFlight++;
    // 'close' follows both a finished response and a client that hung up mid-way.
    reply.raw.once('close', () => state.inFlight--);
  });
}
