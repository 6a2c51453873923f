// Builds the HTTP server: parsing, validation, authentication, the error dialects and the routes.
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import type { Context } from '../context.ts';
import { ServiceError, storeUnavailable } from '../services/errors.ts';
import { describeBodyProblem, describeValidationError, findBodyProblem, validatorCompiler } from './validation.ts';
import { RouteIndex } from './method-not-allowed.ts';
import { registerAuth } from './auth.ts';
import { registerLoadShedding } from './load-shedding.ts';
import { registerProxyWarning } from './proxy-warning.ts';
import type { Surface } from './surface.ts';
import { transactionalSurface } from './transactional/surface.ts';
import { marketingSurface } from './marketing/surface.ts';
import { registerMarketingRoutes } from './marketing/index.ts';
import { sendErrorPage } from './public/error-page.ts';
import { registerPublicRoutes } from './public/index.ts';
import { registerTrackingRoutes } from './public/tracking.ts';
import { registerOpenApi } from './openapi.ts';
import { JsonSyntaxError, describeJsonSyntax } from './json-syntax.ts';
import { JsonEncodingError, jsonText } from './json-encoding.ts';
import { registerTransactionalRoutes } from './transactional/index.ts';
import { registerOpsRoutes, type OpsEndpoints } from './ops.ts';
import { registerHttpMetrics } from './http-metrics.ts';
import { registerMetricsNowRoute } from './transactional/metrics-now.ts';
import { QueueFigures } from '../services/queue-figures.ts';

/** The operations endpoints (src/http/ops.ts) and where /metrics is served. */
export interface HttpOps extends OpsEndpoints {
  figures: QueueFigures;
  /** false when the metrics listener of its own serves /metrics (POSTHORN_METRICS_PORT). */
  metricsOnApiPort: boolean;
}
import { registerDashboardSessionRoutes } from './dashboard/session-routes.ts';
import { isDashboardPage, registerDashboardSpa, sendDashboardIndex } from './dashboard/spa.ts';

const surfaces: Surface[] = [transactionalSurface, marketingSurface];

function surfaceFor(url: string): Surface {
  return (
    surfaces.find((s) => url === s.prefix || url.startsWith(s.prefix + '/') || url.startsWith(s.prefix + '?')) ??
    transactionalSurface
  );
}

function httpLogLevel(log: Logger): string {
  if (log.levelVal <= log.levels.values.debug) return log.level;
  return log.levelVal > log.levels.values.warn ? log.level : 'warn';
}

const MAX_URL_AND_HEADER_BYTES = 2 * 1024 * 1024;

export async function buildHttpServer(ctx: Context, ops?: HttpOps): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request lines are logged at info; they are only wanted when debugging. A quieter
    // configured level (error, silent) is kept: the http logger is never louder than the rest.
    // The assertion widens pino's Logger to Fastify's logger type, which fixes the instance's generic.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: ctx.log.child({ component: 'http' }, { level: httpLogLevel(ctx.log) }) as FastifyBaseLogger,
    bodyLimit: ctx.config.maxBodyBytes,
    // Node refuses a request line + headers over 16 KB with a bare 431 before Fastify sees it. A
    // `search` of the marketing grammar travels in the URL; up to 2 MB of it reaches the grammar,
    // which answers in the surface's dialect (422, naming the parameter) instead.
    http: { maxHeaderSize: MAX_URL_AND_HEADER_BYTES },
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    trustProxy: ctx.config.trustProxy,
    return503OnClosing: true,
    // A URL that does not decode is refused before routing; without this it would not speak the dialect.
    frameworkErrors: (error, request, reply) => {
      // A mangled link in a subscriber's mail gets the friendly page, not an API error body.
      if (/^\/[pt](?:\/|$)/.test(request.url)) return void sendErrorPage(request, reply, 404, 'invalid_link');
      void surfaceFor(request.url).protocol(
        reply,
        400,
        error.code === 'FST_ERR_BAD_URL' ? 'the URL is not correctly percent-encoded' : error.message,
      );
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  // Only JSON bodies: without this, text/plain would be parsed as a string instead of a 415.
  app.removeContentTypeParser('text/plain');
  // Many clients send Content-Type: application/json on every request. An empty body is an error
  // only where the endpoint takes one; a DELETE or PUT …/verify-txt without a body is fine.
  // A "__proto__" key is dropped like any unknown field rather than called invalid JSON.
  const parseJson = app.getDefaultJsonParser('remove', 'remove');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    if (raw.length === 0 && !request.routeOptions.schema?.body) {
      done(null, undefined);
      return;
    }
    let body: string;
    try {
      body = jsonText(request.headers['content-type'], raw as Buffer);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    return parseJson(request, body, (error, value) => {
      if (!error) {
        done(null, value);
        return;
      }
      // Both dialects report where the JSON breaks (mail2many's in errors.body).
      const where = describeJsonSyntax(body);
      done(where ? new JsonSyntaxError(`the body is not valid JSON: ${where}`) : error, undefined);
    });
  });

  const routes = new RouteIndex();
  routes.attach(app);
  registerProxyWarning(app, ctx);
  registerHttpMetrics(app);
  registerLoadShedding(app, ctx, surfaceFor);
  registerAuth(app, ctx, surfaceFor);

  // Seed rule: numbers are signed 32-bit. Checked on every parsed JSON body before the schema runs,
  // together with a nesting bound that keeps later recursive steps safe.
  app.addHook('preValidation', async (request, reply) => {
    if (request.body === undefined || request.body === null || typeof request.body !== 'object') return;
    const problem = findBodyProblem(request.body);
    if (problem) return surfaceFor(request.url).validation(reply, describeBodyProblem(problem));
  });

  // Past the limit, the rest of the body is not read at all: pausing the request stops the socket
  // (backpressure) and Connection: close hangs up once the answer is out.
  const tooLarge = (request: FastifyRequest, reply: FastifyReply) => {
    request.raw.pause();
    void reply.header('connection', 'close');
    return surfaceFor(request.url).protocol(
      reply,
      413,
      `the request body exceeds the limit of ${ctx.config.maxBodyBytes} bytes`,
    );
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const surface = surfaceFor(request.url);
    if (error instanceof ServiceError) return surface.service(reply, error);
    // The database is down, restarting or full: a 503 the client may retry, never a 500. The outage
    // itself is logged once by the store (see store-health.ts), not once per request.
    const unavailable = storeUnavailable(error);
    if (unavailable) {
      request.log.debug({ err: error }, 'request failed: the store is unavailable');
      void reply.header('retry-after', String(unavailable.retryAfterSeconds));
      return surface.protocol(reply, 503, unavailable.detail);
    }
    if (error.validation)
      return surface.validation(
        reply,
        describeValidationError(error.validation as never, error.validationContext ?? 'body'),
      );
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return tooLarge(request, reply);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return surface.protocol(
          reply,
          415,
          `Content-Type "${request.headers['content-type'] ?? ''}" is not supported; send application/json`,
        );
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return surface.protocol(reply, 400, 'the JSON body is empty');
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return surface.protocol(reply, 400, 'Content-Length does not match the body');
    }
    if (error instanceof JsonSyntaxError) return surface.protocol(reply, 400, error.message);
    if (error instanceof JsonEncodingError) return surface.protocol(reply, error.status, error.message);
    if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return surface.protocol(
        reply,
        400,
        `the body is not valid JSON: ${error.message.replace(/ in JSON at position \d+.*$/, '')}`,
      );
    }
    // Other errors Fastify raises while reading a request carry their status; keep it in the dialect.
    if (error.statusCode === 400) return surface.protocol(reply, 400, error.message);
    if (error.statusCode === 413) return tooLarge(request, reply);
    if (error.statusCode === 415) return surface.protocol(reply, 415, 'send the body as application/json');
    if (error.statusCode === 503) return surface.protocol(reply, 503, 'the server is shutting down');
    request.log.error({ err: error }, 'unhandled error');
    return surface.protocol(reply, 500, 'an internal error occurred; the request can be retried');
  });

  let dashboardBuilt = false;
  app.setNotFoundHandler((request, reply) => {
    if (dashboardBuilt && isDashboardPage(request)) return sendDashboardIndex(reply);
    const surface = surfaceFor(request.url);
    const allowed = routes.allowedMethods(request.url);
    if (allowed.length > 0) return surface.methodNotAllowed(reply, allowed);
    return surface.notFound(reply, `no endpoint ${request.method} ${request.url.split('?')[0]}`);
  });

  await registerOpenApi(app, ctx);
  await registerTransactionalRoutes(app, ctx);
  await registerMarketingRoutes(app, ctx);
  await registerPublicRoutes(app, ctx);
  await registerTrackingRoutes(app, ctx);
  registerMetricsNowRoute(app, ops?.figures ?? new QueueFigures(ctx));
  if (ops) registerOpsRoutes(app, ops, { metrics: ops.metricsOnApiPort });
  registerDashboardSessionRoutes(app, ctx);
  dashboardBuilt = await registerDashboardSpa(app);
  return app;
}
