// The subscriber list's public fields for `search` and `sorting` (the whitelists published in the
// OpenAPI document), mapped to columns, and custom fields as EXISTS over subscriber_field_values.
// Used by GET /subscribers, exports, group member lists and dynamic groups alike.
import { sql } from 'kysely';
import type { Context } from './context.ts';
import {
  parseSearch,
  parseSorting,
  type FieldWhitelist,
  type FieldType,
  type SearchAst,
} from '../domain/query-grammar.ts';
import type { CustomFieldHook, SearchColumns } from '../store/query-compiler.ts';
import { grammarType } from '../domain/customer-field-values.ts';

export const SUBSCRIBER_SEARCH: FieldWhitelist = {
  id: { type: 'integer' },
  email: { type: 'string', lowercase: true },
  status: { type: 'integer' },
  statusAddition: { type: 'integer' },
  genderId: { type: 'integer' },
  languageIso: { type: 'string' },
  firstname: { type: 'string' },
  lastname: { type: 'string' },
  company: { type: 'string' },
  postcode: { type: 'string' },
  city: { type: 'string' },
  birthday: { type: 'date' },
  createdAt: { type: 'datetime' },
  updatedAt: { type: 'datetime' },
  optInConfirmedAt: { type: 'datetime' },
  lastOpenedAt: { type: 'datetime' },
  lastClickedAt: { type: 'datetime' },
  'customerFields.*': { type: 'string' },
};

export const SUBSCRIBER_SORTABLE = [
  'id',
  'email',
  'status',
  'genderId',
  'languageIso',
  'firstname',
  'lastname',
  'company',
  'postcode',
  'city',
  'birthday',
  'createdAt',
  'updatedAt',
  'optInConfirmedAt',
  'lastOpenedAt',
  'lastClickedAt',
];

export const SUBSCRIBER_COLUMNS: SearchColumns = {
  id: 'subscribers.id',
  email: 'subscribers.email',
  status: 'subscribers.status',
  statusAddition: 'subscribers.status_addition',
  genderId: 'subscribers.gender_id',
  languageIso: 'subscribers.language_iso',
  firstname: 'subscribers.firstname',
  lastname: 'subscribers.lastname',
  company: 'subscribers.company',
  postcode: 'subscribers.postcode',
  city: 'subscribers.city',
  birthday: 'subscribers.birthday',
  createdAt: 'subscribers.created_at',
  updatedAt: 'subscribers.updated_at',
  optInConfirmedAt: 'subscribers.opt_in_confirmed_at',
  lastOpenedAt: 'subscribers.last_opened_at',
  lastClickedAt: 'subscribers.last_clicked_at',
};

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
