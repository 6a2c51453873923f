// The list-endpoint query grammar of the marketing API (`search`, `sorting`, `page`, `limit`,
// `include`): parses the raw query values into a small AST and rejects anything outside the
// grammar with a GrammarError that names the offending part. Pure: no I/O, no SQL.
//
// Decisions where the spec is silent (documented for the OpenAPI text):
// - search/sorting above 64 KiB are refused before JSON.parse; string values are at most 1000
//   characters; a search has at most 50 conditions in total (every scalar or condition object,
//   also each item of an OR array, counts as one).
// - Integer fields also accept numeric strings ("12"), because form-built clients send them.
// - String fields also accept finite numbers (postcodes sent as 80331); `like` needs a string.
// - Boolean fields accept true/false, 0/1 and "true"/"false"/"0"/"1".
// - Date fields take "YYYY-MM-DD"; datetime fields take exactly "YYYY-MM-DD HH:MM:SS" (UTC) and
//   become epoch milliseconds in the AST.
// - `null` means IS NULL and is only allowed with "="; the condition name is case-insensitive;
//   `{"value": V}` without a condition means "=".
// - A condition object's value must be a scalar (an OR is written as an array of items); an OR
//   array must not be empty and must not contain arrays.
// - `like` patterns use % and _ as wildcards and backslash as the escape character (on both
//   stores), so a pattern must not end in an unescaped backslash.
// - Sorting: every element is a single-key object; a field may appear once; at most 5 keys; the
//   parser appends `id asc` as the final tiebreaker unless `id` is already listed, so paging is
//   stable. The default is `[{id asc}]`.
// - page: 1..2147483647, limit: 1..1000; empty strings count as "not given".
// - include: comma-separated, whitespace around names ignored, duplicates dropped.

export type Condition = '=' | 'like' | '>' | '>=' | '<' | '<=';
export type FieldType = 'string' | 'integer' | 'date' | 'datetime' | 'boolean' | 'decimal';

export interface FieldSpec {
  type: FieldType;
  /** Default: every condition for strings, every condition but `like` for other types. */
  conditions?: Condition[];
  /** Lower-case string values before comparing (for columns stored lower-cased, like email). */
  lowercase?: boolean;
}

/**
 * Filterable fields of one endpoint. The key `customerFields.*` enables `customerFields.<id>`;
 * its `type` is ignored (the resolver gives each field's type) and its `conditions` narrow them all.
 */
export type FieldWhitelist = Record<string, FieldSpec>;

export interface SearchOptions {
  /** The type of the account's custom field `id`, or undefined when there is no such field. */
  customerFieldType?: (id: number) => FieldType | undefined;
}

/** The value as it will be bound: datetime → epoch ms, integer → number, decimal → string. */
export type SearchValue = string | number | boolean | null;

export interface SearchPredicate {
  condition: Condition;
  /** null only with '=' and means IS NULL. */
  value: SearchValue;
}

/** One field of one search object; its predicates are ORed. */
export interface SearchClause {
  field: string;
  type: FieldType;
  /** The id for `customerFields.<id>`, otherwise null. */
  customFieldId: number | null;
  anyOf: SearchPredicate[];
}

/** Every clause must hold (objects and the keys inside them are all ANDed). */
export interface SearchAst {
  clauses: SearchClause[];
}

export type SortDirection = 'asc' | 'desc';
export interface SortKey {
  field: string;
  direction: SortDirection;
}

export interface Paging {
  page: number;
  limit: number;
  offset: number;
}

export type GrammarParam = 'search' | 'sorting' | 'page' | 'limit' | 'include';

export class GrammarError extends Error {
  constructor(
    readonly param: GrammarParam,
    /** e.g. `search[2].email.condition` */
    readonly path: string,
    /** The reason without the path. */
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'GrammarError';
  }
}

export const ALL_CONDITIONS: readonly Condition[] = ['=', 'like', '>', '>=', '<', '<='];
export const MAX_RAW_LENGTH = 64 * 1024;
export const MAX_STRING_LENGTH = 1000;
export const MAX_CONDITIONS = 50;
export const MAX_SORT_KEYS = 5;
export const DEFAULT_PAGE = 1;
export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 1000;
export const MAX_PAGE = 2_147_483_647;

const CUSTOMER_FIELD_WILDCARD = 'customerFields.*';
const CUSTOMER_FIELD_PATTERN = /^customerFields\.([1-9][0-9]{0,14})$/;
const CONDITION_BY_NAME = new Map<string, Condition>(ALL_CONDITIONS.map((c) => [c, c]));

// ---------------------------------------------------------------------------------------------
// search

export function parseSearch(raw: unknown, whitelist: FieldWhitelist, options: SearchOptions = {}): SearchAst {
  const parsed = parseJsonParam('search', raw);
  if (parsed === undefined) return { clauses: [] };
  if (!Array.isArray(parsed)) {
    throw new GrammarError('search', 'search', 'must be a JSON array of objects, e.g. [{"languageIso":"de"}].');
  }
  const budget = { left: MAX_CONDITIONS };
  const clauses: SearchClause[] = [];
  parsed.forEach((group, index) => {
    const groupPath = `search[${index}]`;
    if (!isPlainObject(group))
      throw new GrammarError('search', groupPath, 'must be an object of field names and values.');
    const keys = Object.keys(group);
    if (keys.length === 0) throw new GrammarError('search', groupPath, 'must name at least one field.');
    for (const key of keys) {
      const fieldPath = `${groupPath}.${shorten(key)}`;
      const field = resolveField(key, whitelist, options, fieldPath);
      const anyOf = parseAlternatives(group[key], field, fieldPath, budget);
      clauses.push({ field: field.field, type: field.type, customFieldId: field.customFieldId, anyOf });
    }
  });
  return { clauses };
}

interface ResolvedField {
  field: string;
  type: FieldType;
  customFieldId: number | null;
  conditions: ReadonlySet<Condition>;
  lowercase: boolean;
}

function resolveField(key: string, whitelist: FieldWhitelist, options: SearchOptions, path: string): ResolvedField {
  // Object.hasOwn, never `key in` or whitelist[key] alone: `__proto__`, `constructor` and friends
  // must be unknown fields, not the prototype's members.
  if (key !== CUSTOMER_FIELD_WILDCARD && Object.hasOwn(whitelist, key)) {
    return withConditions(key, whitelist[key], null);
  }
  const custom = CUSTOMER_FIELD_PATTERN.exec(key);
  if (custom && Object.hasOwn(whitelist, CUSTOMER_FIELD_WILDCARD)) {
    const id = Number(custom[1]);
    const type = Number.isSafeInteger(id) ? options.customerFieldType?.(id) : undefined;
    if (!type) throw new GrammarError('search', path, `there is no customer field with id ${custom[1]}.`);
    return withConditions(key, { ...whitelist[CUSTOMER_FIELD_WILDCARD], type }, id);
  }
  throw new GrammarError(
    'search',
    path,
    `'${shorten(key)}' is not a filterable field. Filterable fields: ${describeFields(whitelist)}.`,
  );
}

function withConditions(field: string, spec: FieldSpec, customFieldId: number | null): ResolvedField {
  // `like` only ever makes sense on text, whatever a whitelist entry lists.
  const listed = spec.conditions ?? ALL_CONDITIONS;
  const conditions = new Set(listed.filter((c) => c !== 'like' || spec.type === 'string'));
  return { field, type: spec.type, customFieldId, conditions, lowercase: spec.lowercase === true };
}

function describeFields(whitelist: FieldWhitelist): string {
  const names = Object.keys(whitelist).map((k) => (k === CUSTOMER_FIELD_WILDCARD ? 'customerFields.<id>' : k));
  return names.length ? names.join(', ') : '(none)';
}

function parseAlternatives(
  value: unknown,
  field: ResolvedField,
  path: string,
  budget: { left: number },
): SearchPredicate[] {
  if (!Array.isArray(value)) return [parsePredicate(value, field, path, budget)];
  if (value.length === 0) throw new GrammarError('search', path, 'an array of alternatives must not be empty.');
  return value.map((item, i) => {
    const itemPath = `${path}[${i}]`;
    if (Array.isArray(item))
      throw new GrammarError('search', itemPath, 'arrays cannot be nested; list the alternatives in one array.');
    return parsePredicate(item, field, itemPath, budget);
  });
}

function parsePredicate(value: unknown, field: ResolvedField, path: string, budget: { left: number }): SearchPredicate {
  budget.left -= 1;
  if (budget.left < 0)
    throw new GrammarError('search', path, `a search may have at most ${MAX_CONDITIONS} conditions.`);
  if (isScalar(value)) return checkedPredicate('=', value, field, path);
  if (!isPlainObject(value))
    throw new GrammarError('search', path, 'must be a value or an object {"condition": …, "value": …}.');
  for (const key of Object.keys(value)) {
    if (key !== 'condition' && key !== 'value') {
      throw new GrammarError(
        'search',
        `${path}.${shorten(key)}`,
        'unexpected key; a condition object has only "condition" and "value".',
      );
    }
  }
  const condition = Object.hasOwn(value, 'condition')
    ? parseCondition(value.condition, field, `${path}.condition`)
    : '=';
  if (!Object.hasOwn(value, 'value')) throw new GrammarError('search', `${path}.value`, 'is required.');
  if (!isScalar(value.value)) {
    throw new GrammarError(
      'search',
      `${path}.value`,
      'must be a single string, number, boolean or null; to match several values use an array of alternatives.',
    );
  }
  return checkedPredicate(condition, value.value, field, `${path}.value`);
}

function parseCondition(raw: unknown, field: ResolvedField, path: string): Condition {
  const condition = typeof raw === 'string' ? CONDITION_BY_NAME.get(raw.toLowerCase()) : undefined;
  if (!condition) {
    const shown = typeof raw === 'string' ? `'${shorten(raw)}'` : 'this value';
    throw new GrammarError('search', path, `${shown} is not a condition; use one of ${ALL_CONDITIONS.join(', ')}.`);
  }
  if (!field.conditions.has(condition)) {
    throw new GrammarError(
      'search',
      path,
      `condition '${condition}' is not allowed for ${field.field}; allowed: ${[...field.conditions].join(', ')}.`,
    );
  }
  return condition;
}

function checkedPredicate(condition: Condition, value: Scalar, field: ResolvedField, path: string): SearchPredicate {
  if (!field.conditions.has(condition)) {
    throw new GrammarError(
      'search',
      path,
      `condition '${condition}' is not allowed for ${field.field}; allowed: ${[...field.conditions].join(', ')}.`,
    );
  }
  if (value === null) {
    if (condition !== '=')
      throw new GrammarError('search', path, `null can only be used with '=' (it means "has no value").`);
    return { condition, value: null };
  }
  if (condition === 'like') return { condition, value: likePattern(value, field, path) };
  return { condition, value: normalizeValue(value, field, path) };
}

function likePattern(value: Exclude<Scalar, null>, field: ResolvedField, path: string): string {
  if (typeof value !== 'string') throw new GrammarError('search', path, `a like pattern must be a string.`);
  checkLength(value, path);
  // An odd run of trailing backslashes escapes nothing: PostgreSQL rejects it, SQLite ignores it.
  const trailing = /\\+$/.exec(value)?.[0].length ?? 0;
  if (trailing % 2 === 1)
    throw new GrammarError('search', path, 'a like pattern must not end with an unescaped backslash.');
  return field.lowercase ? value.toLowerCase() : value;
}

function normalizeValue(value: Exclude<Scalar, null>, field: ResolvedField, path: string): Exclude<SearchValue, null> {
  switch (field.type) {
    case 'string':
      return stringValue(value, field, path);
    case 'integer':
      return integerValue(value, path);
    case 'decimal':
      return decimalValue(value, path);
    case 'boolean':
      return booleanValue(value, path);
    case 'date':
      return dateValue(value, path);
    case 'datetime':
      return datetimeValue(value, path);
  }
}

function stringValue(value: Exclude<Scalar, null>, field: ResolvedField, path: string): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else throw new GrammarError('search', path, 'must be a string.');
  checkLength(text, path);
  return field.lowercase ? text.toLowerCase() : text;
}

function integerValue(value: Exclude<Scalar, null>, path: string): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^-?[0-9]{1,16}$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(n)) throw new GrammarError('search', path, 'must be an integer.');
  return n;
}

const DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;
const MAX_DECIMAL_LENGTH = 40;

function decimalValue(value: Exclude<Scalar, null>, path: string): string {
  const text =
    typeof value === 'number' && Number.isFinite(value) ? String(value) : typeof value === 'string' ? value : '';
  if (text.length > MAX_DECIMAL_LENGTH || !DECIMAL.test(text)) {
    throw new GrammarError('search', path, 'must be a decimal number such as 12 or -3.50.');
  }
  return text;
}

function booleanValue(value: Exclude<Scalar, null>, path: string): boolean {
  if (value === true || value === 1 || value === 'true' || value === '1') return true;
  if (value === false || value === 0 || value === 'false' || value === '0') return false;
  throw new GrammarError('search', path, 'must be true or false.');
}

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const DATETIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})$/;

function dateValue(value: Exclude<Scalar, null>, path: string): string {
  const m = typeof value === 'string' ? DATE.exec(value) : null;
  if (!m || epochMs(m) === null) throw new GrammarError('search', path, 'must be a date in the format YYYY-MM-DD.');
  return value as string;
}

function datetimeValue(value: Exclude<Scalar, null>, path: string): number {
  const m = typeof value === 'string' ? DATETIME.exec(value) : null;
  const ms = m ? epochMs(m) : null;
  if (ms === null)
    throw new GrammarError('search', path, 'must be a date and time in the format YYYY-MM-DD HH:MM:SS (UTC).');
  return ms;
}

/** Epoch ms of the matched parts, or null when they do not name a real calendar moment. */
function epochMs(m: RegExpExecArray): number | null {
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1).map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // setUTCFullYear, not Date.UTC: years below 100 stay literal
  d.setUTCHours(hour, minute, second, 0);
  // Date rolls 2021-02-30 over into March; a round trip catches that.
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return d.getTime();
}

function checkLength(text: string, path: string): void {
  if (text.length > MAX_STRING_LENGTH)
    throw new GrammarError('search', path, `must be at most ${MAX_STRING_LENGTH} characters.`);
}

// ---------------------------------------------------------------------------------------------
// sorting

export function parseSorting(raw: unknown, sortable: readonly string[]): SortKey[] {
  const parsed = parseJsonParam('sorting', raw);
  const keys: SortKey[] = [];
  if (parsed !== undefined) {
    if (!Array.isArray(parsed))
      throw new GrammarError('sorting', 'sorting', 'must be a JSON array of objects, e.g. [{"createdAt":"desc"}].');
    if (parsed.length > MAX_SORT_KEYS)
      throw new GrammarError('sorting', 'sorting', `may have at most ${MAX_SORT_KEYS} keys.`);
    const allowed = new Set(sortable);
    parsed.forEach((item, index) => {
      const path = `sorting[${index}]`;
      if (!isPlainObject(item)) throw new GrammarError('sorting', path, 'must be an object like {"createdAt":"desc"}.');
      const names = Object.keys(item);
      if (names.length !== 1)
        throw new GrammarError('sorting', path, 'must name exactly one field, like {"createdAt":"desc"}.');
      const field = names[0];
      const fieldPath = `${path}.${shorten(field)}`;
      if (!allowed.has(field)) {
        throw new GrammarError(
          'sorting',
          fieldPath,
          `'${shorten(field)}' is not a sortable field. Sortable fields: ${sortable.join(', ') || '(none)'}.`,
        );
      }
      if (keys.some((k) => k.field === field))
        throw new GrammarError('sorting', fieldPath, 'is listed more than once.');
      const direction = typeof item[field] === 'string' ? item[field].toLowerCase() : '';
      if (direction !== 'asc' && direction !== 'desc')
        throw new GrammarError('sorting', fieldPath, 'must be "asc" or "desc".');
      keys.push({ field, direction });
    });
  }
  // Without a unique last key, rows with equal sort values may swap between pages.
  if (!keys.some((k) => k.field === 'id')) keys.push({ field: 'id', direction: 'asc' });
  return keys;
}

// ---------------------------------------------------------------------------------------------
// page, limit, include

export function parsePaging(page: unknown, limit: unknown): Paging {
  const p = parseWholeNumber('page', page, DEFAULT_PAGE, MAX_PAGE);
  const l = parseWholeNumber('limit', limit, DEFAULT_LIMIT, MAX_LIMIT);
  return { page: p, limit: l, offset: (p - 1) * l };
}

function parseWholeNumber(param: 'page' | 'limit', raw: unknown, fallback: number, max: number): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^[0-9]{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new GrammarError(param, param, `must be a whole number from 1 to ${max}.`);
  }
  return n;
}

const MAX_INCLUDE_LENGTH = 1000;

export function parseInclude<T extends string>(raw: unknown, allowed: readonly T[]): T[] {
  if (raw === undefined || raw === null || raw === '') return [];
  if (typeof raw !== 'string') throw new GrammarError('include', 'include', 'must be a single comma-separated list.');
  if (raw.length > MAX_INCLUDE_LENGTH)
    throw new GrammarError('include', 'include', `must be at most ${MAX_INCLUDE_LENGTH} characters.`);
  const known = new Set<string>(allowed);
  const out: T[] = [];
  raw.split(',').forEach((part, index) => {
    const name = part.trim();
    if (name === '') return;
    if (!known.has(name)) {
      throw new GrammarError(
        'include',
        `include[${index}]`,
        `'${shorten(name)}' cannot be included. Available: ${allowed.join(', ') || '(none)'}.`,
      );
    }
    if (!out.includes(name as T)) out.push(name as T);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// shared

type Scalar = string | number | boolean | null;

/** undefined when the parameter was not given (or empty); the parsed JSON otherwise. */
function parseJsonParam(param: 'search' | 'sorting', raw: unknown): unknown {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') throw new GrammarError(param, param, 'must be given once, as a JSON array.');
  // Checked before JSON.parse so a huge value costs nothing beyond reading its length.
  if (raw.length > MAX_RAW_LENGTH)
    throw new GrammarError(param, param, `must be at most ${MAX_RAW_LENGTH} characters.`);
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new GrammarError(param, param, 'is not valid JSON.');
  }
}

function isScalar(value: unknown): value is Scalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys and values echoed in messages stay short: a 60 KB key must not come back in the error. */
function shorten(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}
