// What a subscriber CSV means: the header row names subscriber fields (as in the API, matched
// case-insensitively) or custom fields as customerFields.<id>; each following row is one subscriber,
// validated by the same rules as POST /subscribers (parseSubscriberInput). An empty cell sets
// nothing, so an existing subscriber keeps that value.
import {
  parseSubscriberInput,
  type AccountVocabulary,
  type FieldErrors,
  type SubscriberInput,
} from './subscriber-input.ts';
import { SUBSCRIBER_IMPORT_FIELDS, type SubscriberImportField } from './subscriber-fields.ts';

/** The subscriber fields a CSV may set (subscriber-fields.ts); status, channels, opt-in sending stay with the API. */
export const IMPORT_FIELDS = SUBSCRIBER_IMPORT_FIELDS;

export type ImportField = SubscriberImportField;

export type ColumnSpec =
  { kind: 'field'; name: ImportField } | { kind: 'custom'; fieldId: number; type: number } | { kind: 'skip' };

export interface ImportFieldInfo {
  type: number;
  importable: boolean;
}

export type HeaderResult = { ok: true; columns: ColumnSpec[] } | { ok: false; errors: string[] };

const BY_LOWER = new Map<string, ImportField>(IMPORT_FIELDS.map((k) => [k.toLowerCase(), k]));

/** Reads the header row. A column without a name (a trailing delimiter) is skipped. */
export function mapHeader(header: readonly string[], customFields: ReadonlyMap<number, ImportFieldInfo>): HeaderResult {
  const errors: string[] = [];
  const seen = new Set<string>();
  const columns = header.map((raw, i): ColumnSpec => {
    const name = raw.trim();
    if (name === '') return { kind: 'skip' };
    const label = `column ${i + 1} "${name.length > 64 ? name.slice(0, 61) + '...' : name}"`;
    const custom = /^customerFields\.([1-9]\d{0,14})$/i.exec(name);
    const key = custom ? `customerFields.${custom[1]}` : (BY_LOWER.get(name.toLowerCase()) ?? null);
    if (!key) {
      errors.push(`${label} is not a subscriber field; use ${IMPORT_FIELDS.join(', ')} or customerFields.<id>`);
      return { kind: 'skip' };
    }
    if (seen.has(key)) errors.push(`${label} appears more than once`);
    seen.add(key);
    if (!custom) return { kind: 'field', name: key as ImportField };
    const fieldId = Number(custom[1]);
    const field = customFields.get(fieldId);
    if (!field) errors.push(`${label}: the account has no subscriber custom field ${fieldId}`);
    else if (!field.importable) errors.push(`${label}: custom field ${fieldId} is not available for import`);
    return field?.importable ? { kind: 'custom', fieldId, type: field.type } : { kind: 'skip' };
  });
  if (!seen.has('email')) errors.push('the header has no email column');
  return errors.length ? { ok: false, errors } : { ok: true, columns };
}

export type RowResult = { ok: true; input: SubscriberInput } | { ok: false; errors: FieldErrors };

/** A string list cell: a JSON array (["a","b"]) or values separated by |. */
function listCell(text: string): unknown {
  if (text.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text.split('|').map((s) => s.trim());
}

/** One data row as the API body it stands for, validated. */
export function readRow(
  fields: readonly string[],
  columns: readonly ColumnSpec[],
  vocabulary: AccountVocabulary,
): RowResult {
  if (fields.length > columns.length) {
    return { ok: false, errors: { row: [`The row has ${fields.length} columns, the header ${columns.length}.`] } };
  }
  const body: Record<string, unknown> = {};
  let custom: Record<string, unknown> | null = null;
  for (let i = 0; i < fields.length; i++) {
    const spec = columns[i];
    if (spec.kind === 'skip') continue;
    const text = fields[i].trim();
    if (text === '') continue;
    if (spec.kind === 'custom') (custom ??= {})[spec.fieldId] = spec.type === 5 ? listCell(text) : text;
    else body[spec.name] = spec.name === 'genderId' && /^\d{1,9}$/.test(text) ? Number(text) : text;
  }
  if (custom) body.customerFields = custom;
  const parsed = parseSubscriberInput(body, 'create', vocabulary);
  return parsed.ok ? { ok: true, input: parsed.input } : { ok: false, errors: parsed.errors };
}
