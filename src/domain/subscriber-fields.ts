// A subscriber's own fields (custom fields aside), declared once: the name in the API, the column in
// the store, and where each field takes part. The lists the rest of the code uses derive from it:
// the search grammar's whitelists and their columns (services/subscriber-search.ts), the CSV export's
// columns, in this order (subscriber-csv.ts), and the fields a CSV import may set
// (subscriber-import-row.ts). A new field is added here, and its validation in subscriber-input.ts.
import type { FieldType, FieldWhitelist } from './query-grammar.ts';

interface SubscriberField {
  /** The subscribers column, or null for a field computed from others (optInSent, channels). */
  column: string | null;
  /** Its type in `search`; absent when the field cannot be searched. */
  search?: FieldType;
  /** Stored lower-cased: search values are lower-cased too. */
  lowercase?: true;
  /** May be named in `sorting`. */
  sortable?: true;
  /** A column of the CSV export. */
  exported?: true;
  /** A CSV import may set it (status, channels and opt-in sending stay with the API). */
  imported?: true;
}

export const SUBSCRIBER_FIELDS = {
  id: { column: 'id', search: 'integer', sortable: true, exported: true },
  email: { column: 'email', search: 'string', lowercase: true, sortable: true, exported: true, imported: true },
  status: { column: 'status', search: 'integer', sortable: true, exported: true },
  statusAddition: { column: 'status_addition', search: 'integer', exported: true },
  genderId: { column: 'gender_id', search: 'integer', sortable: true, exported: true, imported: true },
  languageIso: { column: 'language_iso', search: 'string', sortable: true, exported: true, imported: true },
  title: { column: 'title', exported: true, imported: true },
  firstname: { column: 'firstname', search: 'string', sortable: true, exported: true, imported: true },
  lastname: { column: 'lastname', search: 'string', sortable: true, exported: true, imported: true },
  company: { column: 'company', search: 'string', sortable: true, exported: true, imported: true },
  street: { column: 'street', exported: true, imported: true },
  postcode: { column: 'postcode', search: 'string', sortable: true, exported: true, imported: true },
  city: { column: 'city', search: 'string', sortable: true, exported: true, imported: true },
  phoneNumber: { column: 'phone_number', exported: true, imported: true },
  birthday: { column: 'birthday', search: 'date', sortable: true, exported: true, imported: true },
  optInComment: { column: 'opt_in_comment', exported: true, imported: true },
  optInSent: { column: null, exported: true },
  optInSentAt: { column: 'opt_in_sent_at', exported: true },
  optInConfirmedAt: {
    column: 'opt_in_confirmed_at',
    search: 'datetime',
    sortable: true,
    exported: true,
    imported: true,
  },
  optInIp: { column: 'opt_in_ip', exported: true, imported: true },
  channels: { column: null, exported: true },
  createdAt: { column: 'created_at', search: 'datetime', sortable: true, exported: true },
  updatedAt: { column: 'updated_at', search: 'datetime', sortable: true, exported: true },
  lastOpenedAt: { column: 'last_opened_at', search: 'datetime', sortable: true },
  lastClickedAt: { column: 'last_clicked_at', search: 'datetime', sortable: true },
  reference: { column: 'reference', imported: true },
} as const satisfies Record<string, SubscriberField>;

type Fields = typeof SUBSCRIBER_FIELDS;
export type SubscriberFieldName = keyof Fields;
/** The names of the fields that have `flag` set. */
type FieldsWith<Flag extends keyof SubscriberField> = {
  [K in SubscriberFieldName]: Fields[K] extends Record<Flag, unknown> ? K : never;
}[SubscriberFieldName];

const entries = Object.entries(SUBSCRIBER_FIELDS) as Array<[SubscriberFieldName, SubscriberField]>;
const namesWith = <Flag extends keyof SubscriberField>(flag: Flag) =>
  entries.filter(([, f]) => f[flag] !== undefined).map(([name]) => name) as Array<FieldsWith<Flag>>;

/** `search` whitelist of the subscriber's own fields. */
export const SUBSCRIBER_SEARCH_FIELDS: FieldWhitelist = Object.fromEntries(
  entries.flatMap(([name, f]) =>
    f.search ? [[name, f.lowercase ? { type: f.search, lowercase: true } : { type: f.search }]] : [],
  ),
);
/** Each searchable field's column, qualified with the table. */
export const SUBSCRIBER_SEARCH_COLUMNS: Record<string, string> = Object.fromEntries(
  entries.flatMap(([name, f]) => (f.search && f.column ? [[name, `subscribers.${f.column}`]] : [])),
);
export const SUBSCRIBER_SORTABLE_FIELDS: readonly string[] = namesWith('sortable');
export const SUBSCRIBER_EXPORT_FIELDS = namesWith('exported');
export const SUBSCRIBER_IMPORT_FIELDS = namesWith('imported');
export type SubscriberImportField = FieldsWith<'imported'>;
