// Custom field values, validated and normalized by the field's type on every subscriber write.
// Types: 1 string, 2 integer, 3 date (YYYY-MM-DD), 4 boolean, 5 string list, 6 currency (decimal string).
// Each value is stored as text, plus a number for the types that compare numerically.
import type { FieldType } from './query-grammar.ts';

export const FIELD_TYPES = {
  1: 'string',
  2: 'integer',
  3: 'date',
  4: 'boolean',
  5: 'string list',
  6: 'currency',
} as const;

/** How the search grammar compares a custom field of this type. */
export function grammarType(type: number): FieldType {
  switch (type) {
    case 2:
      return 'integer';
    case 3:
      return 'date';
    case 4:
      return 'boolean';
    case 6:
      return 'decimal';
    default:
      return 'string';
  }
}

export type NormalizedValue =
  { ok: true; value: string | null; valueNum: number | null } | { ok: false; message: string };

const MAX_TEXT = 10_000;

function isRealDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.toISOString().slice(0, 10) === s;
}

export function normalizeFieldValue(type: number, value: unknown): NormalizedValue {
  if (value === null || value === undefined || value === '') return { ok: true, value: null, valueNum: null };
  switch (type) {
    case 1:
      if (typeof value !== 'string' && typeof value !== 'number') return { ok: false, message: 'must be a string' };
      if (String(value).length > MAX_TEXT) return { ok: false, message: `must be at most ${MAX_TEXT} characters` };
      return { ok: true, value: String(value), valueNum: null };
    case 2: {
      const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) return { ok: false, message: 'must be an integer' };
      return { ok: true, value: String(n), valueNum: n };
    }
    case 3:
      if (typeof value !== 'string' || !isRealDate(value))
        return { ok: false, message: 'must be a date in the format YYYY-MM-DD' };
      return { ok: true, value, valueNum: null };
    case 4: {
      const b =
        value === true || value === 1 || value === '1' || value === 'true'
          ? true
          : value === false || value === 0 || value === '0' || value === 'false'
            ? false
            : null;
      if (b === null) return { ok: false, message: 'must be true or false' };
      return { ok: true, value: b ? '1' : '0', valueNum: b ? 1 : 0 };
    }
    case 5: {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
        return { ok: false, message: 'must be a list of strings' };
      const text = JSON.stringify(value);
      if (text.length > MAX_TEXT) return { ok: false, message: `must be at most ${MAX_TEXT} characters in all` };
      return { ok: true, value: text, valueNum: null };
    }
    case 6: {
      const s = typeof value === 'number' ? String(value) : value;
      if (typeof s !== 'string' || !/^-?\d{1,15}(\.\d{1,4})?$/.test(s.trim()))
        return { ok: false, message: 'must be a decimal amount such as "12.50"' };
      return { ok: true, value: s.trim(), valueNum: Number(s) };
    }
    default:
      return { ok: false, message: 'has an unknown field type' };
  }
}

/** The stored text back into the JSON value a client sent. */
export function presentFieldValue(type: number, value: string | null): unknown {
  if (value === null) return null;
  if (type === 2) return Number(value);
  if (type === 4) return value === '1';
  if (type === 5) {
    try {
      return JSON.parse(value);
    } catch {
      return [];
    }
  }
  return value;
}
