// GET /healthz, /readyz and /metrics: for load balancers, orchestrators and Prometheus. No API key,
// no rate limit, no load shedding (they declare no permission, see load-shedding.ts): a probe must
// get its answer most of all when the server is busy. The answers name checks, never errors.
// The same three answers are served by the API server (Fastify) and by the metrics listener of its
// own (metrics-listener.ts, POSTHORN_METRICS_PORT), so they are written here once, as plain data.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import type { Readiness } from '../services/readiness.ts';

export interface OpsEndpoints {
  readiness: Readiness;
  registry: Registry;
  /** Bearer token /metrics asks for (POSTHORN_METRICS_TOKEN); null: open. */
  metricsToken: string | null;
}

export interface OpsAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const json = (status: number, value: unknown): OpsAnswer => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(value),
});

export function healthAnswer(): OpsAnswer {
  return json(200, { status: 'ok' });
}

export async function readinessAnswer(ops: OpsEndpoints): Promise<OpsAnswer> {
  const { ready, checks } = await ops.readiness.check();
  if (ready) return json(200, { status: 'ready', checks });
  const failing = Object.entries(checks)
    .filter(([, state]) => state === 'failing')
    .map(([name]) => name);
  return json(503, { status: 'unavailable', checks, failing });
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compared through digests, so the time taken says nothing about the token. */
function authorized(header: string | undefined, token: string): boolean {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match !== null && timingSafeEqual(digest(match[1]), digest(token));
}

export async function metricsAnswer(ops: OpsEndpoints, authorization: string | undefined): Promise<OpsAnswer> {
  if (ops.metricsToken !== null && !authorized(authorization, ops.metricsToken)) {
    return {
      status: 401,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' },
      body: 'this endpoint needs Authorization: Bearer <POSTHORN_METRICS_TOKEN>\n',
    };
  }
  return {
    status: 200,
    headers: { 'content-type': ops.registry.contentType, 'cache-control': 'no-store' },
    body: await ops.registry.metrics(),
  };
}

function send(reply: FastifyReply, answer: OpsAnswer): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

/** Registers the three routes on the API server; /metrics only when no listener of its own serves it. */
export function registerOpsRoutes(app: FastifyInstance, ops: OpsEndpoints, opts: { metrics: boolean }): void {
  app.get('/healthz', async (_request, reply) => send(reply, healthAnswer()));
  app.get('/readyz', async (_request, reply) => send(reply, await readinessAnswer(ops)));
  if (opts.metrics)
    app.get('/metrics', async (request, reply) => send(reply, await metricsAnswer(ops, request.headers.authorization)));
}
