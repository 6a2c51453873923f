// Turns the query-grammar AST (src/domain/query-grammar.ts) into Kysely WHERE / ORDER BY / LIMIT
// clauses. Column names come only from the caller's map, keyed by whitelisted field names;
// every value is a bound parameter.
import { sql, type Expression, type ExpressionBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type {
  Condition,
  FieldType,
  Paging,
  SearchAst,
  SearchClause,
  SearchPredicate,
  SortKey,
} from '../domain/query-grammar.ts';
import type { SqlDialect } from './migrations.ts';

// The map is table-agnostic, so expressions are built against an untyped builder.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyExpressionBuilder = ExpressionBuilder<any, any>;

/** A Kysely reference such as 'subscribers.email', or a builder for a computed expression. */
export type ColumnRef = string | ((eb: AnyExpressionBuilder) => Expression<unknown>);

/** Public field name → column. */
export type SearchColumns = Record<string, ColumnRef>;

/** A value as stored: booleans become 1/0, datetimes are already epoch ms. */
export type BoundValue = string | number | null;

export interface CustomFieldFilter {
  fieldId: number;
  type: FieldType;
  condition: Condition;
  /** null means "has no value" (condition '='). */
  value: BoundValue;
  /** `<lhs> <condition> <value>` with this dialect's case-insensitive like and a bound value. */
  compare(lhs: ColumnRef): Expression<SqlBool>;
}

/**
 * Builds the condition for one `customerFields.<id>` predicate, typically an EXISTS over the
 * values table using `filter.compare` on its value column (and NOT EXISTS for a null value).
 */
export type CustomFieldHook = (eb: AnyExpressionBuilder, filter: CustomFieldFilter) => Expression<SqlBool>;

export interface SearchCompileOptions {
  dialect: SqlDialect;
  customField?: CustomFieldHook;
  /**
   * Fields whose column holds lower-cased text: on SQLite a `like 'abc%'` on them also gets the
   * range `>= 'abc' and < 'abc\u{10FFFF}'`, which the column's index can answer (SQLite's LIKE is
   * case-insensitive, so it cannot use a binary-collated index itself).
   */
  lowerCasedFields?: ReadonlySet<string>;
}

export function applySearch<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  ast: SearchAst,
  columns: SearchColumns,
  options: SearchCompileOptions,
): SelectQueryBuilder<DB, TB, O> {
  if (ast.clauses.length === 0) return qb;
  return qb.where((eb) => searchExpression(eb as AnyExpressionBuilder, ast, columns, options));
}

/** The whole search as one boolean expression, for queries other than a plain select. */
export function searchExpression(
  eb: AnyExpressionBuilder,
  ast: SearchAst,
  columns: SearchColumns,
  options: SearchCompileOptions,
): Expression<SqlBool> {
  return eb.and(ast.clauses.map((clause) => clauseExpression(eb, clause, columns, options)));
}

function clauseExpression(
  eb: AnyExpressionBuilder,
  clause: SearchClause,
  columns: SearchColumns,
  options: SearchCompileOptions,
): Expression<SqlBool> {
  const alternatives = clause.anyOf.map((predicate) => {
    const value = boundValue(predicate);
    if (clause.customFieldId !== null) {
      if (!options.customField) throw new Error(`search on ${clause.field} needs a customField hook`);
      return options.customField(eb, {
        fieldId: clause.customFieldId,
        type: clause.type,
        condition: predicate.condition,
        value,
        compare: (lhs) => comparison(columnExpression(eb, lhs), predicate.condition, value, options.dialect),
      });
    }
    const column = columnExpression(eb, mappedColumn(columns, clause.field));
    const compared = comparison(column, predicate.condition, value, options.dialect);
    const prefix =
      predicate.condition === 'like' &&
      typeof value === 'string' &&
      options.dialect === 'sqlite' &&
      options.lowerCasedFields?.has(clause.field)
        ? likePrefix(value)
        : '';
    // The range only narrows what the index visits; the LIKE still decides.
    return prefix
      ? eb.and([sql<SqlBool>`${column} >= ${prefix}`, sql<SqlBool>`${column} < ${prefix + '\u{10FFFF}'}`, compared])
      : compared;
  });
  return alternatives.length === 1 ? alternatives[0] : eb.or(alternatives);
}

/**
 * The literal text a LIKE pattern (escape character backslash) starts with, ASCII letters
 * lower-cased the way SQLite's LIKE folds them: every value the pattern matches in a lower-cased
 * column begins with it. '' when the pattern starts with a wildcard.
 */
export function likePrefix(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    let ch = pattern[i];
    if (ch === '%' || ch === '_') break;
    if (ch === '\\') {
      if (i + 1 >= pattern.length) break;
      ch = pattern[++i]!;
    }
    out += ch >= 'A' && ch <= 'Z' ? ch.toLowerCase() : ch;
  }
  return out;
}

function boundValue(predicate: SearchPredicate): BoundValue {
  if (typeof predicate.value === 'boolean') return predicate.value ? 1 : 0;
  return predicate.value;
}

// A fixed table: the SQL operator text never comes from the request.
const OPERATORS = new Map<Condition, string>([
  ['=', '='],
  ['>', '>'],
  ['>=', '>='],
  ['<', '<'],
  ['<=', '<='],
]);

function comparison(
  lhs: Expression<unknown>,
  condition: Condition,
  value: BoundValue,
  dialect: SqlDialect,
): Expression<SqlBool> {
  if (value === null) {
    if (condition !== '=') throw new Error(`null can only be compared with '=', not '${condition}'`);
    return sql<SqlBool>`${lhs} is null`;
  }
  if (condition === 'like') {
    // SQLite's LIKE is case-insensitive for ASCII already; PostgreSQL needs ILIKE. Backslash is
    // PostgreSQL's default escape; SQLite has none unless told, so say it on both.
    const like = dialect === 'postgres' ? sql.raw('ilike') : sql.raw('like');
    return sql<SqlBool>`${lhs} ${like} ${value} escape '\\'`;
  }
  const operator = OPERATORS.get(condition);
  if (!operator) throw new Error(`unknown search condition ${JSON.stringify(condition)}`);
  return sql<SqlBool>`${lhs} ${sql.raw(operator)} ${value}`;
}

function mappedColumn(columns: SearchColumns, field: string): ColumnRef {
  if (!Object.hasOwn(columns, field)) throw new Error(`no column is mapped for field ${field}`);
  return columns[field];
}

function columnExpression(eb: AnyExpressionBuilder, ref: ColumnRef): Expression<unknown> {
  return typeof ref === 'string' ? sql.ref(ref) : ref(eb);
}

/**
 * ORDER BY in the given order. NULLs sort first ascending and last descending on both stores
 * (SQLite's and MySQL's behaviour; PostgreSQL's default is the opposite).
 */
export function applySorting<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  sorting: readonly SortKey[],
  columns: SearchColumns,
): SelectQueryBuilder<DB, TB, O> {
  let out = qb;
  for (const key of sorting) {
    const ref = mappedColumn(columns, key.field);
    out = out.orderBy(
      (eb) => columnExpression(eb as AnyExpressionBuilder, ref),
      (ob) => (key.direction === 'asc' ? ob.asc().nullsFirst() : ob.desc().nullsLast()),
    );
  }
  return out;
}

export function applyPaging<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  paging: Paging,
): SelectQueryBuilder<DB, TB, O> {
  return qb.limit(paging.limit).offset(paging.offset);
}
