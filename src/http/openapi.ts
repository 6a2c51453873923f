// The OpenAPI 3.1 documents are generated from the same TypeBox schemas that validate requests;
// the interactive documentation is served from the swagger-ui files in node_modules (no CDN).
// One generator collects every route; each surface publishes only its own paths, with its own
// description: /v1/openapi.json (transactional) and /api/v1/openapi.json (marketing), each with
// its interactive page (/v1/documentation, /api/v1/documentation).
import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Context } from '../context.ts';
import { errorCodeTable } from './transactional/errors.ts';
import { marketingDescription } from './marketing/openapi-description.ts';

interface SurfaceDoc {
  prefix: string;
  info: { title: string; version: string; description: string };
  security: Array<Record<string, string[]>>;
}

type OpenApiDocument = {
  paths?: Record<string, unknown>;
  tags?: Array<{ name: string }>;
  info?: unknown;
  security?: unknown;
};

function surfaceDocs(ctx: Context): SurfaceDoc[] {
  return [
    {
      prefix: '/v1',
      info: {
        title: 'Posthorn transactional API',
        version: '1',
        description: [
          'Mailtarget-compatible transactional email API. Authenticate with `Authorization: Bearer <key>`,',
          '`Authorization: <key>` or HTTP Basic with the key as password.',
          '',
          "Management routes follow Mailtarget's published OpenAPI document (apiconfig-openapi-spec.json): integer",
          'ids of keys, sub-accounts and permissions, times in Unix milliseconds.',
          '',
          "A parent account's key acts on one of its sub-accounts with the header `X-MT-ATTR: <subAccountId>`, on",
          "every route (an id that is not one of the key's sub-accounts: 404).",
          '',
          'Requests per API key are limited per second and per minute (429, code 1429, `Retry-After`); a saturated',
          'server sheds new requests with 503 (code 1503) and `Retry-After` instead of letting them wait.',
          '',
          'Wrong API keys lock the client IP on this API (429, code 1304, `Retry-After`), counted over 60 minutes:',
          'after 5 failures 30 s (then 3 more tries), after 8 → 60 s, 9 → 120 s, 10 → 5 min, 11 → 10 min, then 5',
          'more minutes each, never more than one hour; the count starts again after 60 minutes without failures.',
          'Failures on the marketing API or SMTP do not count here, nor the reverse.',
          '',
          'Errors always have the shape `{"errors":[{"message","description","code"}],"message"}`; the top-level',
          "`message` (the first error's description) is for clients of Mailtarget's contract. The codes:",
          '',
          errorCodeTable(),
        ].join('\n'),
      },
      security: [{ bearer: [] }, { basic: [] }],
    },
    {
      prefix: '/api/v1',
      info: { title: 'Posthorn marketing API', version: '1', description: marketingDescription(ctx.config) },
      security: [{ basic: [] }, { bearer: [] }],
    },
  ];
}

const under = (path: string, prefix: string) => path === prefix || path.startsWith(prefix + '/');

/** The generated document cut down to one surface: its paths, the tags they use, its own info. */
function documentFor(full: OpenApiDocument, surface: SurfaceDoc): OpenApiDocument {
  const doc = structuredClone(full);
  doc.paths = Object.fromEntries(Object.entries(full.paths ?? {}).filter(([path]) => under(path, surface.prefix)));
  const used = new Set(
    Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops as Record<string, { tags?: string[] }>).flatMap((op) => op?.tags ?? []),
    ),
  );
  if (doc.tags) doc.tags = doc.tags.filter((t) => used.has(t.name));
  doc.info = surface.info;
  doc.security = surface.security;
  return doc;
}

export async function registerOpenApi(app: FastifyInstance, ctx: Context): Promise<void> {
  const surfaces = surfaceDocs(ctx);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Posthorn', version: '1' },
      servers: [{ url: ctx.config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'The API key, `<8 alphanumerics>.<32 hex>`' },
          basic: { type: 'http', scheme: 'basic', description: 'Any user name, the API key as password' },
        },
      },
    },
    hideUntagged: false,
  });

  // Routes are all registered before the first request, so each document is built once.
  const cache = new Map<string, OpenApiDocument>();
  const documentOf = (surface: SurfaceDoc) => {
    let doc = cache.get(surface.prefix);
    if (!doc) cache.set(surface.prefix, (doc = documentFor(app.swagger(), surface)));
    return doc;
  };

  for (const surface of surfaces) {
    // One swagger-ui per surface, each in its own scope (the plugin decorates the scope it runs in).
    await app.register(async (scope) => {
      await scope.register(swaggerUi, {
        routePrefix: `${surface.prefix}/documentation`,
        uiConfig: { deepLinking: true, tryItOutEnabled: true },
        staticCSP: true,
        transformSpecification: () => documentOf(surface),
        transformSpecificationClone: false,
      });
    });
    app.get(`${surface.prefix}/openapi.json`, { schema: { hide: true } }, async () => documentOf(surface));
  }
}
