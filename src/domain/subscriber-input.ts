// Validates and normalizes what a client sends for one subscriber (POST, PUT, register and each
// bulk item share these rules). Pure: the account's custom fields and channels come in as data.
// Every problem is collected, so a client sees all invalid fields at once (the seed's shape).
import ipaddr from 'ipaddr.js';
import { isValidEmail } from './email-address.ts';
import { normalizeFieldValue } from './customer-field-values.ts';
import { isValidStatusPair, STATUS, ADDITION } from './subscriber-status.ts';

export type FieldErrors = Record<string, string[]>;

/** The subscriber's own text columns: public name → column, maximum length, line breaks allowed. */
export const TEXT_FIELDS = {
  title: { column: 'title', max: 64, multiline: false },
  firstname: { column: 'firstname', max: 255, multiline: false },
  lastname: { column: 'lastname', max: 255, multiline: false },
  company: { column: 'company', max: 255, multiline: false },
  street: { column: 'street', max: 255, multiline: false },
  postcode: { column: 'postcode', max: 32, multiline: false },
  city: { column: 'city', max: 255, multiline: false },
  phoneNumber: { column: 'phone_number', max: 64, multiline: false },
  optInComment: { column: 'opt_in_comment', max: 1000, multiline: true },
  reference: { column: 'reference', max: 255, multiline: false },
} as const;

export type TextField = keyof typeof TEXT_FIELDS;
export const MAX_EMAIL_LENGTH = 254;
export const MAX_CHANNELS = 100;

export interface CustomValue {
  value: string | null;
  valueNum: number | null;
}

/** A validated write: only the fields the client sent are present. */
export interface SubscriberInput {
  email?: string;
  status?: number;
  statusAddition?: number | null;
  genderId?: number | null;
  languageIso?: string | null;
  birthday?: string | null;
  optInIp?: string | null;
  optInConfirmedAt?: number | null;
  text: Partial<Record<TextField, string | null>>;
  customerFields?: Map<number, CustomValue>;
  channels?: number[];
  sendOptIn?: boolean;
}

export interface AccountVocabulary {
  /** The account's subscriber custom fields (field_type 1): id → type (1..6). */
  fieldTypes: ReadonlyMap<number, number>;
  channelIds: ReadonlySet<number>;
}

export type InputMode = 'create' | 'update';

export type ParseResult = { ok: true; input: SubscriberInput } | { ok: false; errors: FieldErrors };

export function parseSubscriberInput(raw: unknown, mode: InputMode, vocabulary: AccountVocabulary): ParseResult {
  const errors: FieldErrors = {};
  const fail = (field: string, message: string) => (errors[field] ??= []).push(message);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: { subscriber: ['The subscriber must be an object.'] } };
  }
  const body = raw as Record<string, unknown>;
  const has = (key: string) => Object.hasOwn(body, key) && body[key] !== undefined;
  const input: SubscriberInput = { text: {} };

  if (has('email') && body.email !== null) {
    const email = body.email;
    if (typeof email !== 'string') fail('email', 'The email must be a string.');
    else {
      const normalized = email.trim().toLowerCase();
      if (normalized.length > MAX_EMAIL_LENGTH || !isValidEmail(normalized))
        fail('email', 'The email must be a valid email address.');
      else input.email = normalized;
    }
  } else if (mode === 'create' || has('email')) {
    fail('email', 'The email field is required.');
  }

  if (has('status')) {
    if (!isInteger(body.status) || ![STATUS.READY, STATUS.NOT_READY, STATUS.ARCHIVED].includes(body.status as 1))
      fail('status', 'The status must be 1, 2 or 3.');
    else input.status = body.status;
  }
  if (has('statusAddition')) {
    const a = body.statusAddition;
    if (a !== null && (!isInteger(a) || a < ADDITION.OPT_IN_PENDING || a > ADDITION.HARD_BOUNCE))
      fail('statusAddition', 'The statusAddition must be null or 1 to 5.');
    else input.statusAddition = a;
  }

  if (has('genderId')) {
    const g = body.genderId;
    // Laravel's rules `nullable|integer|in:1,2,3`, in its words.
    if (g !== null && !isInteger(g)) fail('genderId', 'The genderId must be an integer.');
    else if (g !== null && !(g >= 1 && g <= 3)) fail('genderId', 'The selected genderId is invalid.');
    else input.genderId = g;
  }

  if (has('languageIso')) {
    const l = body.languageIso;
    if (l === null || l === '') input.languageIso = null;
    else if (typeof l !== 'string' || !/^[A-Za-z]{2}$/.test(l))
      fail('languageIso', 'The languageIso must be a two-letter language code such as "de".');
    else input.languageIso = l.toLowerCase();
  }

  for (const [name, rule] of Object.entries(TEXT_FIELDS) as [TextField, (typeof TEXT_FIELDS)[TextField]][]) {
    if (!has(name)) continue;
    const v = body[name];
    if (v === null || v === '') {
      input.text[name] = null;
      continue;
    }
    if (typeof v !== 'string') fail(name, `The ${name} must be a string.`);
    else if (v.length > rule.max) fail(name, `The ${name} may not be greater than ${rule.max} characters.`);
    // Names end up in mail headers (To: "Firstname Lastname"); a line break there is header injection.
    else if (/\0/.test(v) || (!rule.multiline && /[\r\n]/.test(v)))
      fail(name, `The ${name} must not contain line breaks or NUL characters.`);
    else input.text[name] = v;
  }

  if (has('birthday')) {
    const b = body.birthday;
    if (b === null || b === '') input.birthday = null;
    else if (typeof b !== 'string' || !isRealDate(b))
      fail('birthday', 'The birthday must be a real date in the format YYYY-MM-DD.');
    else input.birthday = b;
  }

  if (has('optInIp')) {
    const ip = body.optInIp;
    if (ip === null || ip === '') input.optInIp = null;
    else if (typeof ip !== 'string' || ip.length > 45 || !ipaddr.isValid(ip))
      fail('optInIp', 'The optInIp must be an IPv4 or IPv6 address.');
    else input.optInIp = ipaddr.process(ip).toString();
  }

  if (has('optInConfirmedAt')) {
    const t = body.optInConfirmedAt;
    const ms = typeof t === 'string' ? parseDateTime(t) : null;
    if (t === null) input.optInConfirmedAt = null;
    else if (ms === null)
      fail('optInConfirmedAt', 'The optInConfirmedAt must be a date and time in the format YYYY-MM-DD HH:MM:SS (UTC).');
    else input.optInConfirmedAt = ms;
  }

  if (has('customerFields')) {
    const cf = body.customerFields;
    if (cf === null) input.customerFields = new Map();
    else if (typeof cf !== 'object' || Array.isArray(cf))
      fail('customerFields', 'The customerFields must be an object keyed by customer field id.');
    else {
      const values = new Map<number, CustomValue>();
      for (const [key, value] of Object.entries(cf as Record<string, unknown>)) {
        const field = `customerFields.${key.length > 64 ? key.slice(0, 61) + '...' : key}`;
        const id = /^[1-9][0-9]{0,14}$/.test(key) ? Number(key) : NaN;
        const type = vocabulary.fieldTypes.get(id);
        if (type === undefined) {
          fail(field, `The ${field} is not a subscriber field of this account.`);
          continue;
        }
        const normalized = normalizeFieldValue(type, value);
        if (!normalized.ok) fail(field, `The ${field} ${normalized.message}.`);
        else values.set(id, { value: normalized.value, valueNum: normalized.valueNum });
      }
      input.customerFields = values;
    }
  }

  if (has('channels')) {
    const ch = body.channels;
    if (ch === null) input.channels = [];
    else if (!Array.isArray(ch) || !ch.every(isInteger))
      fail('channels', 'The channels must be a list of channel ids.');
    else if (ch.length > MAX_CHANNELS) fail('channels', `The channels may not have more than ${MAX_CHANNELS} items.`);
    else {
      const unknown = ch.filter((id) => !vocabulary.channelIds.has(id));
      if (unknown.length)
        fail(
          'channels',
          `The channels contain ids that are not channels of this account: ` +
            `${[...new Set(unknown)].slice(0, 10).join(', ')}.`,
        );
      else input.channels = [...new Set(ch)];
    }
  }

  if (has('sendOptIn')) {
    if (typeof body.sendOptIn !== 'boolean') fail('sendOptIn', 'The sendOptIn must be true or false.');
    else input.sendOptIn = body.sendOptIn;
  }

  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, input };
}

export interface StatusPair {
  status: number;
  addition: number | null;
}

/** The addition a status gets when a client sets only the status. */
export function defaultAddition(status: number): number | null {
  if (status === STATUS.NOT_READY) return ADDITION.OPT_IN_PENDING;
  if (status === STATUS.ARCHIVED) return ADDITION.MANUAL;
  return null;
}

/**
 * The status a write leads to. A new subscriber starts at 1 (ready), or 2/1 with sendOptIn; a
 * status without an addition takes the status's default addition; an addition alone keeps the
 * current status. Errors name the field that was sent.
 */
export function resolveStatus(
  current: StatusPair | null,
  input: Pick<SubscriberInput, 'status' | 'statusAddition' | 'sendOptIn'>,
): { ok: true; pair: StatusPair } | { ok: false; field: string; message: string } {
  if (current === null && input.sendOptIn) {
    if (input.status !== undefined && input.status !== STATUS.NOT_READY) {
      return { ok: false, field: 'status', message: 'The status must be 2 (or left out) when sendOptIn is true.' };
    }
    if (input.statusAddition !== undefined && input.statusAddition !== ADDITION.OPT_IN_PENDING) {
      return {
        ok: false,
        field: 'statusAddition',
        message: 'The statusAddition must be 1 (or left out) when sendOptIn is true.',
      };
    }
    return { ok: true, pair: { status: STATUS.NOT_READY, addition: ADDITION.OPT_IN_PENDING } };
  }
  const base = current ?? { status: STATUS.READY, addition: null };
  if (input.status === undefined && input.statusAddition === undefined) return { ok: true, pair: base };
  const status = input.status ?? base.status;
  const addition =
    input.statusAddition !== undefined
      ? input.statusAddition
      : status === base.status
        ? base.addition
        : defaultAddition(status);
  if (!isValidStatusPair(status, addition)) {
    const field = input.statusAddition !== undefined ? 'statusAddition' : 'status';
    return {
      ok: false,
      field,
      message:
        `The statusAddition ${addition === null ? 'null' : addition} does not go with status ${status} (1: ` +
        `null; 2: 1; 3: 2, 3, 4 or 5).`,
    };
  }
  return { ok: true, pair: { status, addition } };
}

function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

export function isRealDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(0);
  d.setUTCFullYear(+m[1], +m[2] - 1, +m[3]);
  return +m[1] >= 1 && d.toISOString().slice(0, 10) === s;
}

function parseDateTime(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (!m) return null;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return new Date(t).toISOString().slice(0, 19).replace('T', ' ') === value ? t : null;
}
