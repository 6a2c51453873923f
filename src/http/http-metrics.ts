// Every HTTP request into the process's request histogram: by method, route pattern (never the raw
// URL, whose ids would make a series each) and status class. A request no route matched is
// "unmatched".
import type { FastifyInstance } from 'fastify';
import { processInstruments } from '../metrics/instruments.ts';

export function registerHttpMetrics(app: FastifyInstance): void {
  const { httpDuration } = processInstruments();
  app.addHook('onResponse', async (request, reply) => {
    httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_class: `${Math.floor(reply.statusCode / 100)}xx`,
      },
      reply.elapsedTime / 1000,
    );
  });
}
