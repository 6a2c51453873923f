// CSV for subscriber exports: RFC 4180 quoting (a cell with a comma, quote or line break is quoted,
// quotes doubled), CRLF line ends, and cells that a spreadsheet would run as a formula defused.
import { SUBSCRIBER_EXPORT_FIELDS } from './subscriber-fields.ts';

/** Columns of the export, in order (the exported subscriber fields); custom fields follow as `customerFields.<id>`. */
export const CSV_BASE_COLUMNS = SUBSCRIBER_EXPORT_FIELDS;

// Subscriber data comes from signup forms, so a cell like `=HYPERLINK(…)` is attacker-controlled.
// Values made only of digits, spaces and + - . / ( ) cannot call a function (phone numbers,
// negative amounts) and are kept as they are; anything else starting like a formula gets a
// leading apostrophe, which spreadsheets show as text (OWASP "CSV injection").
const FORMULA_START = /^[=+\-@\t\r]/;
const HARMLESS = /^[+-]?[0-9][0-9 ()./+-]*$/;

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  // What is neither a string nor an object is a primitive (number, boolean, bigint): its own string form.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  let text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && FORMULA_START.test(text) && !HARMLESS.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(cells: readonly unknown[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}

/** The subscriber object as a CSV row under `header`: channels joined with ";", lists as JSON. */
export function subscriberCsvCells(subscriber: Record<string, unknown>, customFieldIds: readonly number[]): unknown[] {
  const cells: unknown[] = CSV_BASE_COLUMNS.map((c) =>
    c === 'channels' ? (subscriber.channels as number[]).join(';') : subscriber[c],
  );
  const custom = (subscriber.customerFields ?? {}) as Record<string, unknown>;
  for (const id of customFieldIds) cells.push(custom[String(id)] ?? null);
  return cells;
}

export function subscriberCsvHeader(customFieldIds: readonly number[]): string[] {
  return [...CSV_BASE_COLUMNS, ...customFieldIds.map((id) => `customerFields.${id}`)];
}
