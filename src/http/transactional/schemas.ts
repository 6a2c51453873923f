// TypeBox schemas of the transactional surface: they validate requests and make the OpenAPI document.
import type { FastifyReply } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { notFound } from '../../services/errors.ts';

/** A single-line string: CR, LF and NUL are refused (header injection). */
export const Line = (opts: { maxLength?: number; description?: string } = {}) =>
  Type.String({ pattern: '^[^\\r\\n\\u0000]*$', maxLength: opts.maxLength ?? 998, description: opts.description });

export const AddressSchema = Type.Object({
  email: Type.String({ maxLength: 254, description: 'Email address' }),
  name: Type.Optional(Line({ maxLength: 256, description: 'Display name' })),
});

export const StringMap = Type.Record(Type.String(), Type.String());

export const RecipientSchema = Type.Object({
  email: Type.String({ maxLength: 254 }),
  name: Type.Optional(Line({ maxLength: 256 })),
  substitutionData: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description: 'Posthorn extension: overrides the top-level substitutionData for this recipient',
    }),
  ),
  metadata: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: 'Posthorn extension: merged over the top-level metadata',
    }),
  ),
});

export const HeaderSchema = Type.Object({
  name: Type.String({ maxLength: 200 }),
  value: Type.String({ maxLength: 4000 }),
});

export const AttachmentSchema = Type.Object({
  filename: Line({ maxLength: 255 }),
  mimeType: Type.Optional(Type.String({ maxLength: 255 })),
  value: Type.String({ description: 'File content, base64' }),
  contentId: Type.Optional(
    Type.String({ maxLength: 255, description: 'For inline images referenced as cid:<contentId>' }),
  ),
  disposition: Type.Optional(Type.Union([Type.Literal('attachment'), Type.Literal('inline')])),
});

export const MAX_CUSTOM_HEADERS = 100;

export const TransmissionBody = Type.Object(
  {
    from: AddressSchema,
    to: Type.Array(RecipientSchema, { minItems: 1 }),
    cc: Type.Optional(Type.Array(AddressSchema)),
    bcc: Type.Optional(Type.Array(AddressSchema)),
    replyTo: Type.Optional(Type.Union([Type.Array(AddressSchema), AddressSchema])),
    subject: Type.Optional(
      Line({ maxLength: 10000, description: 'Required unless the template has one; may contain {{placeholders}}' }),
    ),
    bodyText: Type.Optional(Type.String()),
    bodyHtml: Type.Optional(Type.String()),
    templateId: Type.Optional(Type.String({ maxLength: 64 })),
    substitutionData: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), { description: 'Template variables, at most 100 KB serialized' }),
    ),
    // Every custom header is written into every copy; a hundred is far more than any real use.
    headers: Type.Optional(
      Type.Union(
        [
          Type.Array(HeaderSchema, { maxItems: MAX_CUSTOM_HEADERS }),
          Type.Record(Type.String(), Type.String(), { maxProperties: MAX_CUSTOM_HEADERS }),
        ],
        {
          description: `[{name, value}] or {name: value}; at most ${MAX_CUSTOM_HEADERS}`,
        },
      ),
    ),
    attachments: Type.Optional(Type.Array(AttachmentSchema)),
    attachment: Type.Optional(Type.Array(AttachmentSchema, { description: 'Alias of attachments' })),
    metadata: Type.Optional(StringMap),
    optionsAttributes: Type.Optional(
      Type.Object({
        clickTracking: Type.Optional(Type.Boolean()),
        openTracking: Type.Optional(Type.Boolean()),
        transactional: Type.Optional(Type.Boolean()),
        sandbox: Type.Optional(Type.Boolean({ description: 'Capture instead of delivering' })),
      }),
    ),
    sendAt: Type.Optional(
      Type.String({
        description: 'Posthorn extension: YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD HH:MM:SS (UTC), at most 30 days ahead',
      }),
    ),
    campaignId: Type.Optional(Line({ maxLength: 256 })),
    labels: Type.Optional(Type.Array(Line({ maxLength: 256 }), { maxItems: 50 })),
  },
  { description: 'Unknown fields are ignored.' },
);

export const ErrorBody = Type.Object({
  errors: Type.Array(Type.Object({ message: Type.String(), description: Type.String(), code: Type.String() })),
  message: Type.String({
    description:
      "The first error's description, for clients of Mailtarget's contract (its error body has a top-level message)",
  }),
});

/** Standard error responses, so every route documents the dialect. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, { ...ErrorBody, description: 'Error (see the code table)' }]));
}

export const Paging = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, default: 1 })),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 10 })),
});

export const IdParam = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** The path id of a resource whose id the contract makes an integer (domains, API keys, sub-accounts). */
export const IntIdParam = Type.Object({
  id: Type.String({ maxLength: 64, description: 'A positive integer; anything else names nothing (404)' }),
});

/** The integer a path id names; anything else is no such resource. */
export function intId(raw: string, what: string): number {
  if (!/^[1-9]\d{0,9}$/.test(raw) || Number(raw) > 2147483647) throw notFound(`${what} ${raw.slice(0, 64)}`);
  return Number(raw);
}

/** A bare JSON string as the whole body (the contract answers some deletes so). */
export function sendJsonString(reply: FastifyReply, value: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(value));
}
