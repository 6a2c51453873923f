import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import { acceptTransmission, type TransmissionInput } from '../../services/transmissions.ts';
import { invalid } from '../../services/errors.ts';
import { TransmissionBody, errorResponses } from './schemas.ts';

const Accepted = Type.Object({ message: Type.String(), transmissionId: Type.String() });

export function registerTransmissionRoutes(app: FastifyInstance, ctx: Context): void {
  for (const url of ['/v1/layang/transmissions', '/v1/transmissions']) {
    app.post(
      url,
      {
        config: { permission: 'send_api' },
        schema: {
          summary: url === '/v1/transmissions' ? 'Send a transmission (alias)' : 'Send a transmission',
          tags: ['Transmissions'],
          body: TransmissionBody,
          headers: Type.Object({
            'idempotency-key': Type.Optional(
              Type.String({
                description:
                  'Posthorn extension: at most 256 characters; replays within 24 h return the first response',
              }),
            ),
          }),
          response: { 200: Accepted, ...errorResponses(400, 401, 403, 405, 409, 413, 415, 420, 422, 500) },
        },
      },
      async (request) => {
        const idem = request.headers['idempotency-key'];
        const key = Array.isArray(idem) ? idem[0] : idem;
        if (key !== undefined && (key.length === 0 || key.length > 256))
          throw invalid('Idempotency-Key', 'must be 1 to 256 characters');
        const result = await acceptTransmission(ctx, request.apiKey, request.body as TransmissionInput, key);
        return { message: 'Transmission received', transmissionId: result.transmissionId };
      },
    );
  }
}
