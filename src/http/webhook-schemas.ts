// TypeBox fields of a webhook that both surfaces share: what a webhook is and what an attempt was
// do not depend on the surface. Each surface keeps its own dialect around them: the name of the
// URL field (url or target), the id type, the date format and the envelope. Read as
// `webhookFields.url`, `...webhookFields.view` and so on.
import { Type, type TString } from '@sinclair/typebox';

/** The URL to deliver to; the surface picks its key (marketing `url`, transactional `target`). */
export const url = Type.Optional(
  Type.String({
    maxLength: 2048,
    description: 'http(s) URL; private, loopback and link-local addresses are refused unless the operator allows them',
  }),
);

export const events = (description: string) =>
  Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50, description }));

/** basicAuth, secret and active as a request sets them; `username` is the surface's string type. */
export function settings(username: TString) {
  const BasicAuthInput = Type.Object({
    username,
    password: Type.Optional(
      Type.String({
        maxLength: 1024,
        description: 'Stored as given (it is sent with every delivery) and never shown again',
      }),
    ),
  });
  return {
    basicAuth: Type.Optional(
      Type.Union([BasicAuthInput, Type.Null()], {
        description: 'Sent as HTTP Basic auth with every delivery; null removes it',
      }),
    ),
    secret: Type.Optional(
      Type.String({
        maxLength: 256,
        description: 'HMAC key of Posthorn-Signature (16–256 characters); generated when omitted',
      }),
    ),
    active: Type.Optional(
      Type.Boolean({ description: 'Inactive webhooks collect nothing and send nothing; default true' }),
    ),
  };
}

/** events, basicAuth, secret and active as an answer shows them (the password never). */
export const view = {
  events: Type.Array(Type.String()),
  basicAuth: Type.Union([Type.Object({ username: Type.String() }), Type.Null()]),
  secret: Type.String({
    description:
      'Verify a delivery: hex HMAC-SHA256 of "<t>.<body>" with this key equals v1 of Posthorn-Signature: ' +
      't=<unix>,v1=<hex>',
  }),
  active: Type.Boolean(),
};

/** What one test delivery answered. */
export const test = {
  batchId: Type.String(),
  ok: Type.Boolean(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  latencyMs: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
};

/** One attempt of the delivery log, between its id and its time. */
export const attempt = {
  batchId: Type.String(),
  retryCount: Type.Integer(),
  eventCount: Type.Integer(),
  statusCode: Type.Union([Type.Integer(), Type.Null()], {
    description: 'null when no HTTP answer came (timeout, connection refused)',
  }),
  latencyMs: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  ok: Type.Boolean(),
};
