// Every route a running Posthorn serves, read from Fastify's own route tree, so a test can walk
// routes that were added after it was written. Fastify keeps no public route array once it has
// started (onRoute is too late), but printRoutes() is public: each line is one path segment,
// indented four characters per level, with the methods in parentheses.
import type { FastifyInstance } from 'fastify';

export interface RouteInfo {
  method: string;
  url: string;
}

export function listRoutes(app: FastifyInstance): RouteInfo[] {
  const routes: RouteInfo[] = [];
  const paths: string[] = []; // the full path of the last node seen at each depth
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const url = (depth > 0 ? paths[depth - 1]! : '') + match[2]!;
    paths.length = depth;
    paths[depth] = url;
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, url });
  }
  return routes;
}

/** The names of a route's path parameters, in order (`*` for a wildcard). */
export function pathParams(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)|\*/g)].map((m) => m[1] ?? '*');
}

/** The path segment just before the parameter: `/api/v1/channels/:id` → `channels` for `id`. */
export function segmentBefore(url: string, param: string): string {
  const segments = url.split('/');
  const index = segments.indexOf(`:${param}`);
  return index > 0 ? segments[index - 1]! : '';
}

/** Fills the path parameters in order with the given values (URL-encoded). */
export function fillPath(url: string, values: string[]): string {
  let i = 0;
  return url.replace(/:([A-Za-z0-9_]+)/g, () => encodeURIComponent(values[i++]!));
}
