// Two schema compilers: request bodies are validated strictly (a string is never coerced into a
// number or back), while query strings and path parameters, which are always text, are coerced.
import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

const bodyAjv = new Ajv({
  coerceTypes: false,
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
  strict: false,
});
const textAjv = new Ajv({
  coerceTypes: 'array',
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
  strict: false,
});

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

export interface FieldProblem {
  kind: 'required' | 'invalid';
  field: string;
  description: string;
  /** The schema rule that failed, for surfaces that word it their own way (mail2many's Laravel). */
  rule?: { keyword: string; params: Record<string, unknown> };
}

/** Turns the first schema violation into a field name and a sentence a client can act on. */
export function describeValidationError(errors: ErrorObject[], part: string): FieldProblem {
  // For a union (anyOf), the branch errors come first; the anyOf error itself names the field.
  const error = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
  const base = error.instancePath
    .replace(/^\//, '')
    .replace(/\/(\d+)(?=\/|$)/g, '[$1]')
    .replace(/\//g, '.');
  const prefix = part === 'body' ? '' : `${part} `;
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    const field = base ? `${base}.${missing}` : missing;
    return {
      kind: 'required',
      field,
      description: `${prefix}${field} is required`,
      rule: { keyword: 'required', params: {} },
    };
  }
  const field = base || (part === 'body' ? 'body' : part);
  const p = error.params as Record<string, unknown>;
  let why: string;
  switch (error.keyword) {
    case 'type':
      why = `must be ${p.type === 'integer' ? 'an integer' : `of type ${String(p.type)}`}`;
      break;
    case 'maximum':
    case 'minimum':
      why = `must be ${error.keyword === 'maximum' ? '<=' : '>='} ${String(p.limit)}`;
      break;
    case 'maxLength':
      why = `must be at most ${String(p.limit)} characters`;
      break;
    case 'minLength':
      why = Number(p.limit) === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters`;
      break;
    case 'maxItems':
      why = `must have at most ${String(p.limit)} items`;
      break;
    case 'minItems':
      why = `must have at least ${String(p.limit)} item${Number(p.limit) === 1 ? '' : 's'}`;
      break;
    case 'pattern':
      why = 'has characters that are not allowed here (line breaks, for example)';
      break;
    case 'enum':
      why = `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'anyOf':
      why = 'does not have any of the accepted shapes';
      break;
    default:
      why = error.message ?? 'is invalid';
  }
  return {
    kind: 'invalid',
    field,
    description: `${prefix}${field} ${why}`,
    rule: { keyword: error.keyword, params: p },
  };
}

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;
/** Deeper JSON is refused: nothing we accept nests this far, and later recursive steps (hashing,
 * JSON.stringify of substitution data) would otherwise overflow the stack and answer 500. */
export const MAX_JSON_DEPTH = 64;

export type BodyProblem = { kind: 'number'; path: string } | { kind: 'depth'; path: string };

/**
 * The seed bounds JSON numbers to signed 32 bits; finds the first one outside, or the first place
 * the body nests deeper than MAX_JSON_DEPTH. Iterative, so a hostile body cannot exhaust the stack.
 */
export function findBodyProblem(body: unknown): BodyProblem | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: body, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'number') {
      if (value > INT32_MAX || value < INT32_MIN) return { kind: 'number', path: path || 'body' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) return { kind: 'depth', path: path || 'body' };
    // Pushed in reverse so the first problem in document order is the one reported.
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push({ value: value[i], path: `${path}[${i}]`, depth: depth + 1 });
    } else {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        stack.push({
          value: (value as Record<string, unknown>)[key],
          path: path ? `${path}.${key}` : key,
          depth: depth + 1,
        });
      }
    }
  }
  return null;
}

/** The field problem a client sees for a body that breaks the number or nesting rule. */
export function describeBodyProblem(problem: BodyProblem): FieldProblem {
  return problem.kind === 'number'
    ? {
        kind: 'invalid',
        field: problem.path,
        description: `${problem.path} must be a signed 32-bit integer (between -2147483648 and 2147483647)`,
      }
    : {
        kind: 'invalid',
        field: problem.path,
        description: `${problem.path} nests deeper than ${MAX_JSON_DEPTH} levels`,
      };
}
