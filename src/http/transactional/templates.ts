import type { FastifyInstance } from 'fastify';
import type { Context } from '../../services/context.ts';

// Template routes: GET/POST /v1/template, GET/PUT/DELETE /v1/template/:id, POST /v1/template/:id/preview.
export function registerTemplateRoutes(_app: FastifyInstance, _ctx: Context): void {}
