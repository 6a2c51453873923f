// Custom fields ("customer fields"): fieldType 1 subscriber, 2 account, 3 mailing; type 1 string,
// 2 integer, 3 date, 4 boolean, 5 string list, 6 currency; a name (and description) per language.
//
// Decisions where the spec is silent:
// - translations are keyed by the account's languages (de, en); at least one needs a name. Every
//   account language is shown, {name:null, description:null} when not translated, and that shape
//   is accepted back. PUT merges per language: a language sent replaces that language (null, or a
//   null name and description, removes it); languages not sent stay.
// - type and fieldType cannot change while any subscriber has a value for the field (the stored
//   values were checked against the old type) nor while a dynamic group filters on it: 423/1025.
// - DELETE removes every value of the field; it is refused (423/1025) while a dynamic group's
//   conditions use the field, since those conditions would stop meaning anything.
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound, required } from './errors.ts';
import type { FieldWhitelist } from '../domain/query-grammar.ts';
import { hasLineBreak } from '../domain/email-address.ts';
import { LANGUAGES, LANGUAGE_ISOS, isAccountLanguage } from './account.ts';
import { parseListParams, type ListQuery, type Page } from './marketing-params.ts';
import { dynamicGroupsUsingField } from './subscriber-groups.ts';
import type { SearchColumns } from '../store/query-compiler.ts';
import * as store from '../store/customer-fields.ts';
import type { CustomerFieldRow } from '../store/customer-fields.ts';

export const FIELD_KINDS = [1, 2, 3] as const; // fieldType: subscriber, account, mailing
export const VALUE_TYPES = [1, 2, 3, 4, 5, 6] as const; // string … currency

export const CUSTOMER_FIELD_SEARCH: FieldWhitelist = {
  id: { type: 'integer' },
  fieldType: { type: 'integer' },
  type: { type: 'integer' },
  createdAt: { type: 'datetime' },
  updatedAt: { type: 'datetime' },
};
export const CUSTOMER_FIELD_SORTABLE = ['id', 'fieldType', 'type', 'createdAt', 'updatedAt'];
const CUSTOMER_FIELD_COLUMNS: SearchColumns = {
  id: 'customer_fields.id',
  fieldType: 'customer_fields.field_type',
  type: 'customer_fields.type',
  createdAt: 'customer_fields.created_at',
  updatedAt: 'customer_fields.updated_at',
};

export interface TranslationInput {
  name?: string | null;
  description?: string | null;
}

export interface CustomerFieldInput {
  fieldType?: number;
  type?: number;
  isAvailableForImport?: boolean;
  isAvailableForExport?: boolean;
  isEditable?: boolean;
  translations?: Record<string, TranslationInput | null>;
}

export interface Translation {
  name: string | null;
  description: string | null;
}

export interface CustomerFieldView {
  row: CustomerFieldRow;
  translations: Record<string, Translation>;
}

type StoredTranslations = Record<string, { name: string; description: string | null }>;

function storedTranslations(json: string): StoredTranslations {
  try {
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as StoredTranslations)
      : {};
  } catch {
    return {};
  }
}

function view(row: CustomerFieldRow): CustomerFieldView {
  const stored = storedTranslations(row.translations);
  const translations: Record<string, Translation> = {};
  for (const { iso } of LANGUAGES)
    translations[iso] = stored[iso]
      ? { name: stored[iso].name, description: stored[iso].description ?? null }
      : { name: null, description: null };
  return { row: { ...row, type: Number(row.type), field_type: Number(row.field_type) }, translations };
}

const trimmedOrNull = (v: string | null | undefined): string | null =>
  v === undefined || v === null || v.trim() === '' ? null : v.trim();

/** `current` merged with the languages sent; at least one language must keep a name. */
function mergedTranslations(
  current: StoredTranslations,
  input: Record<string, TranslationInput | null>,
): StoredTranslations {
  const out: StoredTranslations = { ...current };
  for (const [iso, entry] of Object.entries(input)) {
    if (!isAccountLanguage(iso))
      throw invalid(`translations.${iso}`, `is not one of the account's languages (${LANGUAGE_ISOS.join(', ')})`);
    const name = trimmedOrNull(entry?.name);
    const description = trimmedOrNull(entry?.description);
    if (name === null) {
      if (description !== null) throw required(`translations.${iso}.name`);
      Reflect.deleteProperty(out, iso);
      continue;
    }
    if (hasLineBreak(name)) throw invalid(`translations.${iso}.name`, 'must not contain line breaks');
    out[iso] = { name, description };
  }
  if (!LANGUAGE_ISOS.some((iso) => out[iso]))
    throw invalid('translations', `must give the field a name in at least one language (${LANGUAGE_ISOS.join(', ')})`);
  return out;
}

function checkKinds(input: CustomerFieldInput): void {
  if (input.fieldType !== undefined && !(FIELD_KINDS as readonly number[]).includes(input.fieldType))
    throw invalid('fieldType', 'must be 1 (subscriber), 2 (account) or 3 (mailing)');
  if (input.type !== undefined && !(VALUE_TYPES as readonly number[]).includes(input.type)) {
    throw invalid('type', 'must be 1 (string), 2 (integer), 3 (date), 4 (boolean), 5 (string list) or 6 (currency)');
  }
}

const flag = (v: boolean | undefined, current: number) => (v === undefined ? current : v ? 1 : 0);

export async function createCustomerField(
  ctx: Context,
  accountId: string,
  input: CustomerFieldInput,
): Promise<CustomerFieldView> {
  if (input.fieldType === undefined) throw required('fieldType');
  if (input.type === undefined) throw required('type');
  if (input.translations === undefined) throw required('translations');
  checkKinds(input);
  const translations = mergedTranslations({}, input.translations);
  const now = ctx.clock();
  const id = await store.insertCustomerField(ctx.db, {
    account_id: accountId,
    field_type: input.fieldType,
    type: input.type,
    is_available_for_import: flag(input.isAvailableForImport, 1),
    is_available_for_export: flag(input.isAvailableForExport, 1),
    is_editable: flag(input.isEditable, 1),
    translations: JSON.stringify(translations),
    created_at: now,
    updated_at: now,
  });
  return getCustomerField(ctx, accountId, id);
}

async function findOr404(ctx: Context, accountId: string, id: number): Promise<CustomerFieldRow> {
  const row = await store.findCustomerField(ctx.db, accountId, id);
  if (!row) throw notFound('Customer field');
  return row;
}

export async function getCustomerField(ctx: Context, accountId: string, id: number): Promise<CustomerFieldView> {
  return view(await findOr404(ctx, accountId, id));
}

export async function listCustomerFields(
  ctx: Context,
  accountId: string,
  query: ListQuery,
): Promise<Page<CustomerFieldView>> {
  const params = parseListParams(query, CUSTOMER_FIELD_SEARCH, CUSTOMER_FIELD_SORTABLE);
  const spec = { ...params, dialect: ctx.dialect, columns: CUSTOMER_FIELD_COLUMNS };
  const { total, rows } = await store.listCustomerFields(ctx.db, accountId, spec);
  return { total, rows: rows.map(view), paging: params.paging };
}

async function refuseWhileUsedByGroups(ctx: Context, accountId: string, fieldId: number, what: string): Promise<void> {
  const groups = await dynamicGroupsUsingField(ctx, accountId, fieldId);
  if (groups.length > 0) {
    const names = groups.map((g) => `"${g.name}" (${g.id})`).join(', ');
    throw new ServiceError(
      'forbidden',
      `The customer field is used by the conditions of the dynamic subscriber group${groups.length > 1 ? 's' : ''} ` +
        `${names}; ${what}.`,
    );
  }
}

export async function updateCustomerField(
  ctx: Context,
  accountId: string,
  id: number,
  input: CustomerFieldInput,
): Promise<CustomerFieldView> {
  const row = await findOr404(ctx, accountId, id);
  checkKinds(input);
  const changes: store.CustomerFieldChanges = {};
  const typeChanges =
    (input.type !== undefined && input.type !== Number(row.type)) ||
    (input.fieldType !== undefined && input.fieldType !== Number(row.field_type));
  if (typeChanges) {
    if (await store.customerFieldHasValues(ctx.db, id)) {
      throw new ServiceError(
        'forbidden',
        'The customer field has values; its type and fieldType cannot change. Create a new field instead.',
      );
    }
    await refuseWhileUsedByGroups(ctx, accountId, id, 'change those conditions before changing its type');
    if (input.type !== undefined) changes.type = input.type;
    if (input.fieldType !== undefined) changes.field_type = input.fieldType;
  }
  if (input.translations !== undefined)
    changes.translations = JSON.stringify(mergedTranslations(storedTranslations(row.translations), input.translations));
  changes.is_available_for_import = flag(input.isAvailableForImport, row.is_available_for_import);
  changes.is_available_for_export = flag(input.isAvailableForExport, row.is_available_for_export);
  changes.is_editable = flag(input.isEditable, row.is_editable);
  await store.updateCustomerField(ctx.db, accountId, id, { ...changes, updated_at: ctx.clock() });
  return getCustomerField(ctx, accountId, id);
}

/** Deletes the field with every value of it. */
export async function deleteCustomerField(ctx: Context, accountId: string, id: number): Promise<void> {
  await findOr404(ctx, accountId, id);
  await refuseWhileUsedByGroups(ctx, accountId, id, 'change those conditions before deleting it');
  const found = await ctx.db.transaction().execute((trx) => store.deleteCustomerFieldWithValues(trx, accountId, id));
  if (!found) throw notFound('Customer field');
}
