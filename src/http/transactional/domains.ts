import type { FastifyInstance } from 'fastify';
import type { Context } from '../../services/context.ts';

// Sending domain routes: GET/POST /v1/domain/sending, GET/DELETE /v1/domain/sending/:id, PUT …/verify-txt.
export function registerDomainRoutes(_app: FastifyInstance, _ctx: Context): void {}
