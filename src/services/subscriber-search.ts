// The subscriber list's public fields for `search` and `sorting` (the whitelists published in the
// OpenAPI document; declared in domain/subscriber-fields.ts), mapped to columns, and custom fields
// as EXISTS over subscriber_field_values.
// Used by GET /subscribers, exports, group member lists and dynamic groups alike.
import { sql } from 'kysely';
import type { Context } from '../context.ts';
import {
  parseSearch,
  parseSorting,
  type FieldWhitelist,
  type FieldType,
  type SearchAst,
} from '../domain/query-grammar.ts';
import type { CustomFieldHook, SearchColumns } from '../store/query-compiler.ts';
import { grammarType } from '../domain/customer-field-values.ts';
import {
  SUBSCRIBER_SEARCH_COLUMNS,
  SUBSCRIBER_SEARCH_FIELDS,
  SUBSCRIBER_SORTABLE_FIELDS,
} from '../domain/subscriber-fields.ts';

export const SUBSCRIBER_SEARCH: FieldWhitelist = {
  ...SUBSCRIBER_SEARCH_FIELDS,
  'customerFields.*': { type: 'string' },
};

export const SUBSCRIBER_SORTABLE = SUBSCRIBER_SORTABLE_FIELDS;

export const SUBSCRIBER_COLUMNS: SearchColumns = SUBSCRIBER_SEARCH_COLUMNS;

/** Fields stored lower-cased (the store narrows a prefix `like` on them to an index range). */
export const SUBSCRIBER_LOWER_CASED_FIELDS: ReadonlySet<string> = new Set(
  Object.keys(SUBSCRIBER_SEARCH).filter((f) => SUBSCRIBER_SEARCH[f].lowercase),
);

/** customerFields.<id> = EXISTS (a value row of that field matching); null = no value row. */
export const subscriberCustomField: CustomFieldHook = (eb, filter) => {
  const rows = eb
    .selectFrom('subscriber_field_values')
    .select(sql.lit(1).as('one'))
    .whereRef('subscriber_field_values.subscriber_id', '=', 'subscribers.id')
    .where('subscriber_field_values.field_id', '=', filter.fieldId);
  if (filter.value === null) return eb.not(eb.exists(rows));
  const numeric = filter.type === 'integer' || filter.type === 'decimal' || filter.type === 'boolean';
  return eb.exists(
    rows.where(filter.compare(numeric ? 'subscriber_field_values.value_num' : 'subscriber_field_values.value')),
  );
};

/** The account's subscriber custom fields (fieldType 1) and their grammar types. */
export async function customFieldTypes(ctx: Context, accountId: string): Promise<Map<number, FieldType>> {
  const rows = await ctx.db
    .selectFrom('customer_fields')
    .select(['id', 'type'])
    .where('account_id', '=', accountId)
    .where('field_type', '=', 1)
    .execute();
  return new Map(rows.map((r) => [Number(r.id), grammarType(r.type)]));
}

export async function parseSubscriberSearch(ctx: Context, accountId: string, raw: unknown): Promise<SearchAst> {
  const types =
    typeof raw === 'string' && raw.includes('customerFields.')
      ? await customFieldTypes(ctx, accountId)
      : new Map<number, FieldType>();
  return parseSearch(raw, SUBSCRIBER_SEARCH, { customerFieldType: (id) => types.get(id) });
}

export function parseSubscriberSorting(raw: unknown) {
  return parseSorting(raw, SUBSCRIBER_SORTABLE);
}
