// Typed Mailtarget clients (Go, Java) send every optional field, empty when unset:
// `"templateId": ""`, `"cc": []`, `"headers": []`, `"metadata": {}`, `"replyTo": {}`. On /v1 an
// empty value means absent, before the schema validates the body, so it never reads as "invalid".
// Guided by the route's body schema: only fields the schema declares are dropped, and the entries of
// free-form maps (substitutionData, metadata, headers as {name: value}) are data, never touched —
// though an empty map itself is absent. Empty query parameters (`?search=&status=`) are absent too.
import type { FastifyInstance } from 'fastify';

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  allOf?: Schema[];
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function isEmpty(value: unknown): boolean {
  return (
    value === '' ||
    (Array.isArray(value) && value.length === 0) ||
    (isPlainObject(value) && Object.keys(value).length === 0)
  );
}

/** The declared properties of an object schema (merging allOf), or null for a map or non-object. */
function propertiesOf(schema: Schema | undefined): Record<string, Schema> | null {
  if (!schema) return null;
  if (schema.properties) return schema.properties;
  if (schema.allOf) {
    const merged = schema.allOf.map(propertiesOf).filter((p): p is Record<string, Schema> => p !== null);
    return merged.length ? (Object.assign({}, ...merged) as Record<string, Schema>) : null;
  }
  return null;
}

/** For a union, the branch that describes this value's kind (array or object with properties). */
function branchFor(schema: Schema | undefined, value: unknown): Schema | undefined {
  if (!schema?.anyOf) return schema;
  if (Array.isArray(value)) return schema.anyOf.find((s) => s.type === 'array');
  return schema.anyOf.find((s) => propertiesOf(s) !== null);
}

/** Drops empty declared fields of `value` in place, depth first, so `{email: ""}` empties too. */
export function dropEmptyFields(value: unknown, schema: Schema | undefined): void {
  const branch = branchFor(schema, value);
  if (Array.isArray(value)) {
    for (const item of value) dropEmptyFields(item, branch?.items);
    return;
  }
  const properties = propertiesOf(branch);
  if (!isPlainObject(value) || !properties) return;
  for (const [key, fieldSchema] of Object.entries(properties)) {
    if (!Object.hasOwn(value, key)) continue;
    dropEmptyFields(value[key], fieldSchema);
    if (isEmpty(value[key])) Reflect.deleteProperty(value, key);
  }
}

export function registerEmptyAsAbsent(app: FastifyInstance, prefix: string): void {
  app.addHook('preValidation', async (request) => {
    if (!request.url.startsWith(prefix + '/')) return;
    const query = request.query as Record<string, unknown> | undefined;
    if (isPlainObject(query))
      for (const [k, v] of Object.entries(query)) if (v === '') Reflect.deleteProperty(query, k);
    const schema = request.routeOptions.schema?.body as Schema | undefined;
    if (schema && isPlainObject(request.body)) dropEmptyFields(request.body, schema);
  });
}
