// Builds the HTTP server: parsing, validation, authentication, the error dialects and the routes.
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Context } from '../services/context.ts';
import { ServiceError } from '../services/errors.ts';
import { describeValidationError, findOutOfRangeNumber, validatorCompiler } from './validation.ts';
import { RouteIndex } from './method-not-allowed.ts';
import { registerAuth } from './auth.ts';
import type { Surface } from './surface.ts';
import { transactionalSurface } from './transactional/surface.ts';
import { registerOpenApi } from './openapi.ts';
import { registerTransactionalRoutes } from './transactional/index.ts';

const surfaces: Surface[] = [transactionalSurface];

function surfaceFor(url: string): Surface {
  return surfaces.find((s) => url === s.prefix || url.startsWith(s.prefix + '/') || url.startsWith(s.prefix + '?')) ?? transactionalSurface;
}

export async function buildHttpServer(ctx: Context): Promise<FastifyInstance> {
  const app = Fastify({
    // Per-request lines are logged at info; they are only wanted when debugging.
    loggerInstance: ctx.log.child({ component: 'http' }, { level: ['debug', 'trace'].includes(ctx.config.logLevel) ? ctx.config.logLevel : 'warn' }) as FastifyBaseLogger,
    bodyLimit: ctx.config.maxBodyBytes,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    trustProxy: process.env.POSTHORN_TRUST_PROXY === 'true',
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  // Only JSON bodies: without this, text/plain would be parsed as a string instead of a 415.
  app.removeContentTypeParser('text/plain');

  const routes = new RouteIndex();
  routes.attach(app);
  registerAuth(app, ctx, surfaceFor);

  // Seed rule: numbers are signed 32-bit. Checked on every parsed JSON body before the schema runs.
  app.addHook('preValidation', async (request, reply) => {
    if (request.body === undefined || request.body === null || typeof request.body !== 'object') return;
    const path = findOutOfRangeNumber(request.body);
    if (path) return surfaceFor(request.url).validation(reply, { kind: 'invalid', field: path, description: `${path} must be a signed 32-bit integer (between -2147483648 and 2147483647)` });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const surface = surfaceFor(request.url);
    if (error instanceof ServiceError) return surface.service(reply, error);
    if (error.validation) return surface.validation(reply, describeValidationError(error.validation as never, error.validationContext ?? 'body'));
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return surface.protocol(reply, 413, `the request body exceeds the limit of ${ctx.config.maxBodyBytes} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return surface.protocol(reply, 415, `Content-Type "${request.headers['content-type'] ?? ''}" is not supported; send application/json`);
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return surface.protocol(reply, 400, 'the JSON body is empty');
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return surface.protocol(reply, 400, 'Content-Length does not match the body');
    }
    if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return surface.protocol(reply, 400, `the body is not valid JSON: ${error.message.replace(/ in JSON at position \d+.*$/, '')}`);
    }
    if (error.statusCode === 400) return surface.protocol(reply, 400, error.message);
    if (error.statusCode === 503) return surface.protocol(reply, 503, 'the server is shutting down');
    request.log.error({ err: error }, 'unhandled error');
    return surface.protocol(reply, 500, 'an internal error occurred; the request can be retried');
  });

  app.setNotFoundHandler((request, reply) => {
    const surface = surfaceFor(request.url);
    const allowed = routes.allowedMethods(request.url);
    if (allowed.length > 0) return surface.methodNotAllowed(reply, allowed);
    return surface.notFound(reply, `no endpoint ${request.method} ${request.url.split('?')[0]}`);
  });

  await registerOpenApi(app, ctx);
  await registerTransactionalRoutes(app, ctx);
  return app;
}
