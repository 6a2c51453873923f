// Behind a reverse proxy (nginx, Caddy, a load balancer) every request comes from the proxy's
// address. Without POSTHORN_TRUST_PROXY that address is taken for the client's: one wrong key
// locks everybody out, the signup limit counts all visitors as one, and keys' allowed-IP lists
// see only the proxy. A request carrying X-Forwarded-For is the sign of such a setup, so the
// server says so in its log: once per process, not once per request.
import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.ts';

export function registerProxyWarning(app: FastifyInstance, ctx: Context): void {
  if (ctx.config.trustProxy) return;
  let warned = false;
  app.addHook('onRequest', (request, _reply, done) => {
    const forwardedFor = request.headers['x-forwarded-for'];
    if (!warned && forwardedFor !== undefined) {
      warned = true;
      ctx.log.warn(
        { remoteAddress: request.ip, forwardedFor },
        'a request arrived with X-Forwarded-For while POSTHORN_TRUST_PROXY is off: every client is taken to be ' +
          `${request.ip} (brute-force locks, signup limits and allowed IPs apply to that address). Behind a ` +
          'reverse proxy that sets the header, set POSTHORN_TRUST_PROXY=true (see "Behind a proxy" in the README); ' +
          'this is logged once',
      );
    }
    done();
  });
}
