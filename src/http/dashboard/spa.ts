// Serves the dashboard (the React SPA built into dashboard/dist by `npm ci`) at `/`. Hashed assets
// are cached for a year (their names change with their content); index.html is revalidated every
// time, so a new build is picked up at once. Paths that are no file and belong to no API fall back
// to index.html, where the SPA's router takes over; API paths keep their JSON 404s.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { DASHBOARD_API_PREFIX } from './session-routes.ts';

/** From src/http/dashboard or dist/http/dashboard alike: <repo>/dashboard/dist. */
export const DASHBOARD_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dashboard/dist');

const API_PATH = new RegExp(`^/(?:v1|api/v1|p|t|healthz|readyz|metrics|${DASHBOARD_API_PREFIX.slice(1)})(?:[/?]|$)`);

/** A browser navigating to a dashboard page the server does not know as a file: the SPA answers it. */
export function isDashboardPage(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (API_PATH.test(request.url)) return false;
  // A missing asset (an old hashed name) is a plain 404, not the page.
  return !/\.[a-z0-9]+$/i.test(request.url.split('?')[0]);
}

const SECURITY_HEADERS = {
  // The SPA loads only its own files; mail HTML is shown in a sandboxed iframe via srcdoc.
  'content-security-policy': [
    "default-src 'self'",
    "img-src 'self' data: https: http:", // images in captured mail
    "style-src 'self' 'unsafe-inline'", // inline styles of mail HTML
    "frame-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

export async function registerDashboardSpa(app: FastifyInstance): Promise<boolean> {
  if (!fs.existsSync(path.join(DASHBOARD_DIST, 'index.html'))) {
    app.log.warn(`the dashboard is not built (${DASHBOARD_DIST}); run npm run build:dashboard`);
    return false;
  }
  await app.register(fastifyStatic, {
    root: DASHBOARD_DIST,
    prefix: '/',
    wildcard: false, // one route per built file, so unknown paths reach the not-found handler
    index: ['index.html'],
    cacheControl: false,
    setHeaders(res, filePath) {
      const hashed = filePath.startsWith(path.join(DASHBOARD_DIST, 'assets') + path.sep);
      res.setHeader('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    },
  });
  return true;
}

export function sendDashboardIndex(reply: FastifyReply): FastifyReply {
  void reply.header('cache-control', 'no-cache');
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) void reply.header(name, value);
  return reply.sendFile('index.html', DASHBOARD_DIST);
}
