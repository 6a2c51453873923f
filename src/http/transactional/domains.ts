// Sending domain routes: GET/POST /v1/domain/sending, GET/DELETE /v1/domain/sending/:id, PUT …/verify-txt.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../services/context.ts';
import {
  addSendingDomain,
  deleteSendingDomain,
  getSendingDomain,
  listSendingDomains,
  verifySendingDomain,
} from '../../services/domains.ts';
import { IdParam, Line, Paging, errorResponses } from './schemas.ts';

const AddDomainBody = Type.Object(
  {
    domain: Type.String({
      maxLength: 253,
      description: 'The domain mail is sent from (the part after @ in from.email), e.g. mail.example.com',
    }),
    note: Type.Optional(
      Type.Union([Line({ maxLength: 1000, description: 'Free text for your own reference' }), Type.Null()]),
    ),
    dkimEd25519: Type.Optional(
      Type.Boolean({
        description:
          'Also sign with an Ed25519 key (RFC 8463), a second DKIM signature next to the RSA one; ' +
          'the default is the server setting POSTHORN_DKIM_ED25519',
      }),
    ),
  },
  { description: 'Unknown fields are ignored.' },
);

const record = (what: string) => ({
  Hostname: Type.String({ description: `Where to publish the ${what} record` }),
  Value: Type.String({ description: `The ${what} record value to publish` }),
  Verified: Type.Boolean({ description: `Whether the ${what} record was found at the last check` }),
});

const spf = record('SPF (TXT)');
const dkim = record('DKIM (TXT)');
const cname = record('return-path CNAME');
const dmarc = record('DMARC (TXT)');

export const SendingDomain = Type.Object({
  id: Type.String(),
  domain: Type.String(),
  note: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('verified'), Type.Literal('unverified')], {
    description: 'verified when SPF and DKIM are both verified; production mail may only be sent from verified domains',
  }),
  spfHostname: spf.Hostname,
  spfValue: spf.Value,
  spfVerified: spf.Verified,
  dkimHostname: dkim.Hostname,
  dkimSelector: Type.String({ description: 'The DKIM selector (s= tag of signatures)' }),
  dkimValue: dkim.Value,
  dkimVerified: dkim.Verified,
  dkimEd25519Hostname: Type.Union([Type.String(), Type.Null()], {
    description: 'Where to publish the second DKIM key (Ed25519); null when the domain signs with RSA only',
  }),
  dkimEd25519Selector: Type.Union([Type.String(), Type.Null()], { description: 'Selector of the Ed25519 key' }),
  dkimEd25519Value: Type.Union([Type.String(), Type.Null()], { description: 'The Ed25519 DKIM record to publish' }),
  dkimEd25519Verified: Type.Union([Type.Boolean(), Type.Null()], {
    description: 'Whether the Ed25519 record was found at the last check (it does not decide the status)',
  }),
  cnameHostname: cname.Hostname,
  cnameValue: Type.String({
    description: 'The host the return-path CNAME must point at; once verified, bounces use this subdomain',
  }),
  cnameVerified: cname.Verified,
  dmarcHostname: dmarc.Hostname,
  dmarcValue: Type.String({
    description: 'A recommended starting DMARC policy; any record starting with v=DMARC1 counts',
  }),
  dmarcVerified: dmarc.Verified,
  createdAt: Type.String({ format: 'date-time' }),
  lastCheckedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When DNS was last checked (PUT …/verify-txt)',
  }),
});

const DomainList = Type.Object({ count: Type.Integer(), data: Type.Array(SendingDomain) });
const Deleted = Type.Object({ message: Type.String() });

export function registerDomainRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'sending_domains' as const };
  const tags = ['Sending domains'];

  app.get(
    '/v1/domain/sending',
    {
      config,
      schema: {
        tags,
        summary: 'List sending domains, newest first',
        querystring: Paging,
        response: { 200: DomainList, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof Paging>;
      return listSendingDomains(ctx, request.apiKey.accountId, q.page ?? 1, q.size ?? 10);
    },
  );

  app.post(
    '/v1/domain/sending',
    {
      config,
      schema: {
        tags,
        summary: 'Add a sending domain; the answer lists the DNS records to publish',
        body: AddDomainBody,
        response: { 201: SendingDomain, ...errorResponses(400, 401, 403, 409, 415, 422) },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof AddDomainBody>;
      const domain = await addSendingDomain(ctx, request.apiKey.accountId, body);
      return reply.code(201).send(domain);
    },
  );

  app.get(
    '/v1/domain/sending/:id',
    {
      config,
      schema: {
        tags,
        summary: 'A sending domain with its DNS records',
        params: IdParam,
        response: { 200: SendingDomain, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      return getSendingDomain(ctx, request.apiKey.accountId, id);
    },
  );

  app.delete(
    '/v1/domain/sending/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a sending domain and its DKIM key',
        params: IdParam,
        response: { 200: Deleted, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      await deleteSendingDomain(ctx, request.apiKey.accountId, id);
      return { message: 'Sending domain deleted' };
    },
  );

  app.put(
    '/v1/domain/sending/:id/verify-txt',
    {
      config,
      schema: {
        tags,
        summary: 'Check the DNS records now and return the updated domain',
        params: IdParam,
        response: { 200: SendingDomain, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const { id } = request.params as Static<typeof IdParam>;
      return verifySendingDomain(ctx, request.apiKey.accountId, id);
    },
  );
}
