// The OpenAPI 3.1 documents are generated from the same TypeBox schemas that validate requests;
// the interactive documentation is served from the swagger-ui files in node_modules (no CDN).
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Context } from '../services/context.ts';
import { errorCodeTable } from './transactional/errors.ts';

export async function registerOpenApi(app: FastifyInstance, ctx: Context): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Posthorn transactional API',
        version: '1',
        description: [
          'Mailtarget-compatible transactional email API. Authenticate with `Authorization: Bearer <key>`,',
          '`Authorization: <key>` or HTTP Basic with the key as password.',
          '',
          'Errors always have the shape `{"errors":[{"message","description","code"}]}`. The codes:',
          '',
          errorCodeTable(),
        ].join('\n'),
      },
      servers: [{ url: ctx.config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'The API key, `<8 alphanumerics>.<32 hex>`' },
          basic: { type: 'http', scheme: 'basic', description: 'Any user name, the API key as password' },
        },
      },
      security: [{ bearer: [] }, { basic: [] }],
    },
    hideUntagged: false,
  });
  await app.register(swaggerUi, {
    routePrefix: '/v1/documentation',
    uiConfig: { deepLinking: true, tryItOutEnabled: true },
    staticCSP: true,
  });
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
