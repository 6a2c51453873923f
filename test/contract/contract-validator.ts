// Validates response bodies against the contract's schemas (mailtarget-schemas.ts) with ajv:
// JSON types exactly (an "integer" is never a float or a numeric string), every documented field
// present unless OMITTED says why not, unknown fields allowed (clients ignore them).
import { Ajv, type ValidateFunction } from 'ajv';
import { COMPONENTS, OMITTED, type JsonSchema } from './mailtarget-schemas.ts';

/** The component with `required` listing every property but the omitted ones. */
function requiringEverything(name: string, schema: JsonSchema): JsonSchema {
  const properties = schema.properties as Record<string, unknown> | undefined;
  if (!properties) return { ...schema, $id: name };
  const omitted = OMITTED[name] ?? {};
  return { ...schema, $id: name, required: Object.keys(properties).filter((p) => !(p in omitted)) };
}

export function contractValidator(): (schema: JsonSchema) => ValidateFunction {
  const ajv = new Ajv({ strict: true, allErrors: true });
  for (const [name, schema] of Object.entries(COMPONENTS)) ajv.addSchema(requiringEverything(name, schema));
  const compiled = new Map<JsonSchema, ValidateFunction>();
  return (schema) => {
    let v = compiled.get(schema);
    if (!v) compiled.set(schema, (v = ajv.compile(schema)));
    return v;
  };
}

/** ajv's errors in one line each, for assertion messages. */
export function describeErrors(v: ValidateFunction): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || '(body)'} ${e.message ?? ''}`).join('; ');
}
