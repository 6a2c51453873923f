// The metrics listener of its own (POSTHORN_METRICS_PORT): /metrics, /healthz and /readyz on a port
// apart from the API, on every role. The worker and smtp roles have no HTTP server otherwise, and on
// the api role it keeps /metrics off the public port. Plain node:http: three GET routes, nothing to
// parse, nothing else answered.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { healthAnswer, metricsAnswer, readinessAnswer, type OpsAnswer, type OpsEndpoints } from './ops.ts';

export interface MetricsListener {
  /** http://host:port of the listener. */
  url: string;
  close(): Promise<void>;
}

async function answerFor(ops: OpsEndpoints, request: http.IncomingMessage): Promise<OpsAnswer> {
  const path = (request.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
  const route =
    path === '/metrics'
      ? () => metricsAnswer(ops, request.headers.authorization)
      : path === '/readyz'
        ? () => readinessAnswer(ops)
        : path === '/healthz'
          ? () => Promise.resolve(healthAnswer())
          : null;
  const text = (status: number, body: string, headers: Record<string, string> = {}): OpsAnswer => ({
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
    body,
  });
  if (!route) return text(404, 'not found; this port serves /metrics, /healthz and /readyz\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'only GET\n', { allow: 'GET, HEAD' });
  return route();
}

export async function startMetricsListener(
  ops: OpsEndpoints,
  opts: { port: number; host: string; onError: (error: unknown) => void },
): Promise<MetricsListener> {
  const server = http.createServer((request, response) => {
    // Only the request line and headers matter; a body, if any, is read and dropped.
    request.resume();
    answerFor(ops, request).then(
      (answer) => {
        response.writeHead(answer.status, answer.headers);
        response.end(request.method === 'HEAD' ? undefined : answer.body);
      },
      (error: unknown) => {
        opts.onError(error);
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('an internal error occurred\n');
      },
    );
  });
  // A scraper keeps its connection open between scrapes; close() must not wait for it.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = opts.host === '0.0.0.0' ? 'localhost' : opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
