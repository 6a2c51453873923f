// Sending domain routes, shaped as Mailtarget's published contract (apiconfig-openapi-spec.json in
// the public repository wisnuekas/mailtarget-sentinel) gives them: GET/POST /v1/domain/sending,
// GET /v1/domain/sending/unverified-spf, GET/DELETE /v1/domain/sending/{id},
// PUT …/{id}/share, GET …/{id}/spf-suggestion, PUT …/{id}/verify-txt.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import {
  addSendingDomain,
  deleteSendingDomain,
  getSendingDomain,
  listSendingDomains,
  shareSendingDomain,
  spfSuggestionFor,
  unverifiedSpfDomains,
  verifySendingDomain,
} from '../../services/domains.ts';
import { IntIdParam, Line, Paging, errorResponses, intId, sendJsonString } from './schemas.ts';

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
    assignment: Type.Optional(
      Type.String({
        description:
          'PRIMARY (default): this account only; ALL: shared with every sub-account (they ' +
          'may send from it, DKIM-signed). Any case.',
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

const Millis = (description: string) => Type.Integer({ description: `${description}, Unix milliseconds` });
const Assignment = Type.Union([Type.Literal('PRIMARY'), Type.Literal('ALL')], {
  description: 'PRIMARY: this account only; ALL: shared with every sub-account (PUT …/share)',
});
const StatusWord = Type.Union([Type.Literal('Verified'), Type.Literal('Unverified')], {
  description: 'Verified when SPF and DKIM are both verified; production mail may only be sent from verified domains',
});
const Types = Type.Array(Type.String(), {
  description: '"sending" for every domain; "bounce" too once its return-path CNAME is verified',
});
const FromParent = Type.Boolean({
  description: 'Posthorn: true for a domain the parent account shares with this sub-account (read-only here)',
});
const LastChecked = Type.Union([Type.Integer(), Type.Null()], {
  description: 'Posthorn: when DNS was last checked (PUT …/verify-txt), Unix milliseconds',
});

/** model.SendingBounceDetailDomain, plus Posthorn's fields. */
export const SendingDomainDetail = Type.Object(
  {
    id: Type.Integer(),
    domain: Type.String(),
    assignment: Assignment,
    status: Type.Array(StatusWord, { description: 'The contract gives an array here: one word' }),
    types: Types,
    spfHostname: spf.Hostname,
    spfValue: spf.Value,
    spfVerified: spf.Verified,
    dkimHostname: dkim.Hostname,
    dkimSelector: Type.String({ description: 'The DKIM selector (s= tag of signatures)' }),
    dkimValue: dkim.Value,
    dkimPublicKey: Type.String({ description: 'The p= value of the DKIM record (base64 DER)' }),
    dkimVerified: dkim.Verified,
    dkimEd25519Hostname: Type.Union([Type.String(), Type.Null()], {
      description: 'Posthorn: where to publish the second DKIM key (Ed25519); null when the domain signs with RSA only',
    }),
    dkimEd25519Selector: Type.Union([Type.String(), Type.Null()], {
      description: 'Posthorn: selector of the Ed25519 key',
    }),
    dkimEd25519Value: Type.Union([Type.String(), Type.Null()], {
      description: 'Posthorn: the Ed25519 DKIM record to publish',
    }),
    dkimEd25519Verified: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'Posthorn: whether the Ed25519 record was found at the last check (it does not decide the status)',
    }),
    cnameHostname: cname.Hostname,
    cnameValue: Type.String({
      description: 'The host the return-path CNAME must point at; once verified, bounces use this subdomain',
    }),
    cnameVerified: cname.Verified,
    createdAt: Millis('When the domain was added'),
    note: Type.Union([Type.String(), Type.Null()], { description: 'Posthorn: your own note' }),
    dmarcHostname: dmarc.Hostname,
    dmarcValue: Type.String({
      description: 'Posthorn: a recommended starting DMARC policy; any record starting with v=DMARC1 counts',
    }),
    dmarcVerified: dmarc.Verified,
    lastCheckedAt: LastChecked,
    fromParent: FromParent,
  },
  {
    description:
      "The contract's SendingBounceDetailDomain. Never returned: dkimPrivateKey " +
      '(the private key never leaves Posthorn), ' +
      'trackingDomainId/trackingDomainName (tracking uses PUBLIC_URL), subAccountId/subAccountName. ' +
      'Posthorn adds note, dmarc*, dkimEd25519*, lastCheckedAt and fromParent.',
  },
);

/** model.SendingDomain (an item of the list), plus Posthorn's fields. */
const SendingDomainItem = Type.Object({
  id: Type.Integer(),
  domain: Type.String(),
  status: StatusWord,
  assignment: Assignment,
  default: Type.Boolean({ description: "The account's default sender domain: its oldest verified one" }),
  types: Types,
  createdAt: Millis('When the domain was added'),
  note: Type.Union([Type.String(), Type.Null()], { description: 'Posthorn: your own note' }),
  spfVerified: Type.Boolean({ description: 'Posthorn' }),
  dkimVerified: Type.Boolean({ description: 'Posthorn' }),
  cnameVerified: Type.Boolean({ description: 'Posthorn' }),
  dmarcVerified: Type.Boolean({ description: 'Posthorn' }),
  lastCheckedAt: LastChecked,
  fromParent: FromParent,
});

const DomainList = Type.Array(
  Type.Object({
    count: Type.Integer({ description: 'All matching domains' }),
    sendingDomain: Type.Array(SendingDomainItem),
  }),
  { description: 'As the contract gives it: an array holding one {count, sendingDomain} (model.DtoDomains)' },
);

const DomainListQuery = Type.Intersect([
  Paging,
  Type.Object({
    search: Type.Optional(Type.String({ maxLength: 253, description: 'Part of the domain name, any case' })),
    status: Type.Optional(
      Type.String({
        description: 'Verified, Unverified or Blocked (any case); Posthorn blocks no domain, so Blocked lists none',
      }),
    ),
  }),
]);

const SimpleDomains = Type.Object({
  count: Type.Integer(),
  data: Type.Array(Type.Object({ id: Type.Integer(), name: Type.String({ description: 'The domain name' }) })),
});

const Suggestion = Type.Object({
  suggestion: Type.String({
    description:
      'The SPF record to publish: the existing record(s) merged with our include, at ' +
      'most 10 DNS lookups; "" when that cannot be done',
  }),
  spfRecords: Type.Array(Type.String(), { description: 'The SPF records found at the domain now' }),
  note: Type.String({ description: 'What was found, counted and changed' }),
});

export function registerDomainRoutes(app: FastifyInstance, ctx: Context): void {
  const config = { permission: 'sending_domains' as const };
  const tags = ['Sending domains'];
  const idOf = (params: unknown) => intId((params as Static<typeof IntIdParam>).id, 'sending domain');

  app.get(
    '/v1/domain/sending',
    {
      config,
      schema: {
        tags,
        summary: 'List sending domains, newest first',
        description:
          "The contract's odd shape: an ARRAY holding one `{count, sendingDomain:[…]}`. " +
          'A sub-account also sees the domains its parent shares (fromParent).',
        querystring: DomainListQuery,
        response: { 200: DomainList, ...errorResponses(401, 403, 422) },
      },
    },
    async (request) => {
      const q = request.query as Static<typeof DomainListQuery>;
      return listSendingDomains(ctx, request.apiKey.accountId, {
        page: q.page ?? 1,
        size: q.size ?? 10,
        search: q.search,
        status: q.status,
      });
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
        response: { 201: SendingDomainDetail, ...errorResponses(400, 401, 403, 409, 415, 422) },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof AddDomainBody>;
      const domain = await addSendingDomain(ctx, request.apiKey.accountId, body);
      return reply.code(201).send(domain);
    },
  );

  app.get(
    '/v1/domain/sending/unverified-spf',
    {
      config,
      schema: {
        tags,
        summary: "The account's domains whose SPF record was not found at the last check",
        description: 'Shape `{count, data:[{id, name}]}` (model.Counter-model_SimpleDomain), oldest first, not paged.',
        response: { 200: SimpleDomains, ...errorResponses(401, 403) },
      },
    },
    async (request) => unverifiedSpfDomains(ctx, request.apiKey.accountId),
  );

  app.get(
    '/v1/domain/sending/:id',
    {
      config,
      schema: {
        tags,
        summary: 'A sending domain with its DNS records',
        description: 'An id that is not a positive integer names no domain (404).',
        params: IntIdParam,
        response: { 200: SendingDomainDetail, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => getSendingDomain(ctx, request.apiKey.accountId, idOf(request.params)),
  );

  app.delete(
    '/v1/domain/sending/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a sending domain and its DKIM key',
        description:
          'Answers a JSON string, as the contract does. A domain the parent shares cannot ' +
          'be deleted by a sub-account (403).',
        params: IntIdParam,
        response: { 200: Type.String(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await deleteSendingDomain(ctx, request.apiKey.accountId, idOf(request.params));
      return sendJsonString(reply, 'Sending domain deleted');
    },
  );

  app.put(
    '/v1/domain/sending/:id/share',
    {
      config,
      schema: {
        tags,
        summary: 'Share the domain with every sub-account',
        description:
          'Sets assignment ALL: every sub-account may send from the domain, signed with its ' +
          'DKIM key, and sees it (read-only) with its verification state. ' +
          'Only an account without a parent shares (422 otherwise). Takes no body. Sharing again changes nothing.',
        params: IntIdParam,
        response: { 200: SendingDomainDetail, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request) => shareSendingDomain(ctx, request.apiKey.accountId, idOf(request.params)),
  );

  app.get(
    '/v1/domain/sending/:id/spf-suggestion',
    {
      config,
      schema: {
        tags,
        summary: "The domain's SPF record merged with ours, within 10 DNS lookups",
        description:
          'Looks up the SPF record(s) at the domain now, merges them into one with our ' +
          'include before `all`, and counts the DNS lookups it needs ' +
          '(include, a, mx, ptr, exists, redirect, followed through every include). Over ' +
          '10, includes that stand only for IP addresses are ' +
          'replaced by those addresses (most expensive first, ours never); when it still ' +
          'does not fit, suggestion is "" and note says why.',
        params: IntIdParam,
        response: { 200: Suggestion, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => spfSuggestionFor(ctx, request.apiKey.accountId, idOf(request.params)),
  );

  app.put(
    '/v1/domain/sending/:id/verify-txt',
    {
      config,
      schema: {
        tags,
        summary: 'Check the DNS records now',
        description:
          'Answers an ARRAY holding the updated domain, as the contract does. A lookup that ' +
          'fails (not an absent record) keeps the previous result.',
        params: IntIdParam,
        response: { 200: Type.Array(SendingDomainDetail), ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => [await verifySendingDomain(ctx, request.apiKey.accountId, idOf(request.params))],
  );
}
