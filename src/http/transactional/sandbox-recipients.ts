// Authorized sandbox recipients (Posthorn's take on Mailtarget's dashboard route; string ids and
// ISO-8601 times like the other extensions): GET/POST/DELETE /v1/sandbox/recipients and
// GET/DELETE /v1/sandbox/recipients/{id}. Adding one sends it a consent mail (see
// src/services/sandbox-recipients.ts); sandbox sends reach a verified one for real.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import * as recipients from '../../services/sandbox-recipients.ts';
import { IdParam, Paging, errorResponses } from './schemas.ts';

const Recipient = Type.Object({
  id: Type.String(),
  email: Type.String(),
  status: Type.String({ description: '`unverified` until the consent page is submitted, then `verified`' }),
  consentedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  consentLinkExpiresAt: Type.String({ format: 'date-time' }),
  createdAt: Type.String({ format: 'date-time' }),
});
const List = Type.Object({ count: Type.Integer(), data: Type.Array(Recipient) });
const CreateBody = Type.Object(
  { email: Type.String({ maxLength: 254 }) },
  {
    description:
      'Sends the address a consent mail with a link to /p/consent/{token}. An address already listed ' +
      'answers its entry (200); while it is unverified a fresh consent mail goes out.',
  },
);
const EmailQuery = Type.Object({ email: Type.String({ maxLength: 254 }) });
const Deleted = Type.Object({ message: Type.String(), id: Type.String() });

export function registerSandboxRecipientRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'send_api' as const };
  const tags = ['Sandbox'];
  const path = '/v1/sandbox/recipients';

  app.get(
    path,
    {
      config,
      schema: {
        tags,
        summary: 'Authorized sandbox recipients, newest first (Posthorn extension)',
        description:
          'Sandbox sends (sandbox keys, `optionsAttributes.sandbox`, mailings, test and trigger sends of a ' +
          'sandbox key) are captured, never delivered, except to a `verified` recipient of this list: that ' +
          'address gets them for real.',
        querystring: Paging,
        response: { 200: List, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof Paging>;
      return recipients.listSandboxRecipients(ctx, request.apiKey.accountId, q.page ?? 1, q.size ?? 10);
    },
  );

  app.post(
    path,
    {
      config,
      schema: {
        tags,
        summary: 'Add a sandbox recipient and send it a consent mail',
        body: CreateBody,
        response: { 200: Recipient, 201: Recipient, ...errorResponses(400, 401, 403, 415, 422) },
      },
    },
    async (request, reply) => {
      const { recipient, created } = await recipients.addSandboxRecipient(
        ctx,
        request.apiKey.accountId,
        request.body as Static<typeof CreateBody>,
      );
      return reply.code(created ? 201 : 200).send(recipient);
    },
  );

  app.delete(
    path,
    {
      config,
      schema: {
        tags,
        summary: 'Remove the sandbox recipient with this address (its consent ends)',
        querystring: EmailQuery,
        response: { 200: Deleted, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const { email } = request.query as Static<typeof EmailQuery>;
      const id = await recipients.removeSandboxRecipientByEmail(ctx, request.apiKey.accountId, email);
      return { message: 'Sandbox recipient deleted', id };
    },
  );

  app.get(
    `${path}/:id`,
    {
      config,
      schema: {
        tags,
        summary: 'One sandbox recipient',
        params: IdParam,
        response: { 200: Recipient, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      return recipients.getSandboxRecipient(ctx, request.apiKey.accountId, id);
    },
  );

  app.delete(
    `${path}/:id`,
    {
      config,
      schema: {
        tags,
        summary: 'Remove a sandbox recipient (its consent ends)',
        params: IdParam,
        response: { 200: Deleted, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      await recipients.removeSandboxRecipient(ctx, request.apiKey.accountId, id);
      return { message: 'Sandbox recipient deleted', id };
    },
  );
}
