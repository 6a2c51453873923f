// Fastify answers 404 for a known path with the wrong method; the seed wants 405. We remember
// every route's path pattern and, for a miss, look for the same path under other methods.
import type { FastifyInstance } from 'fastify';

export class RouteIndex {
  private routes: Array<{ pattern: RegExp; method: string }> = [];

  attach(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const pattern = new RegExp(
        '^' +
          route.url
            .replace(/\/+$/, '')
            .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
            .replace(/:[A-Za-z0-9_]+/g, '[^/]+') +
          '/?$',
      );
      for (const method of methods) if (method !== 'HEAD') this.routes.push({ pattern, method });
    });
  }

  allowedMethods(path: string): string[] {
    // The router ignores duplicate slashes, so the lookup must too.
    const clean = path.split('?')[0].replace(/\/{2,}/g, '/');
    return [...new Set(this.routes.filter((r) => r.pattern.test(clean)).map((r) => r.method))];
  }
}
