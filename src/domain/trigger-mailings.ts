// Trigger mailings without I/O: what a trigger key looks like, which language variant of a trigger
// a send uses, and what the templates see (the subscriber, the caller's data, the links).

/** Lower-case letters, digits, `_ . -`; 1–64 characters (it sits in a URL path). */
export const TRIGGER_KEY_PATTERN = /^[a-z0-9_.-]{1,64}$/;

export function isValidTriggerKey(key: string): boolean {
  return TRIGGER_KEY_PATTERN.test(key);
}

/** Statuses in which a trigger mailing holds its key: sending = active, paused = held back. */
export const LIVE_TRIGGER_STATUSES = ['sending', 'paused'] as const;
export const ACTIVE_TRIGGER_STATUS = 'sending';

export interface TriggerVariant {
  id: number;
  language_iso: string | null;
}

/**
 * The variant a send uses: the language asked for, else the subscriber's language, else the
 * primary variant (the oldest). A language the trigger does not exist in falls back the same way
 * rather than failing: the person is waiting for the mail, and some language beats none.
 */
export function chooseVariant<T extends TriggerVariant>(
  variants: readonly T[],
  requested: string | null,
  subscriberLanguage: string | null,
): T | undefined {
  const byLanguage = (lang: string | null) => (lang ? variants.find((v) => v.language_iso === lang) : undefined);
  return byLanguage(requested) ?? byLanguage(subscriberLanguage) ?? primaryVariant(variants);
}

export function primaryVariant<T extends TriggerVariant>(variants: readonly T[]): T | undefined {
  return [...variants].sort((a, b) => a.id - b.id)[0];
}

/** The languages a trigger exists in, sorted; a variant without a language adds none. */
export function variantLanguages(variants: readonly TriggerVariant[]): string[] {
  return [...new Set(variants.map((v) => v.language_iso).filter((l): l is string => !!l))].sort();
}

/** The links are ours to set: data naming them cannot point a List-Unsubscribe header elsewhere. */
const RESERVED = ['unsubscribeUrl', 'preferencesUrl', 'webViewUrl', 'subscriber', 'mailing'] as const;

/**
 * The variables of one trigger send. The caller's `data` is there as `data.*` and at the top level,
 * where it wins over the subscriber's fields (the caller knows the occasion, e.g. the name on the
 * order); `subscriber.*` always holds the stored subscriber, and the links and `mailing` cannot be
 * overridden.
 */
export function triggerVariables(
  base: Record<string, unknown>,
  data: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(data)) if (!(RESERVED as readonly string[]).includes(k)) out[k] = v;
  for (const k of RESERVED) if (k in base) out[k] = base[k];
  out.data = data;
  return out;
}
