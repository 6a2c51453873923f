// What one setting is: the environment variable, its type, its default and what it means, plus the
// parser that validates it. Every setting Posthorn reads is declared once with these (settings.ts);
// the loader, `posthorn config --help` and the README's configuration table are all made from them.

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

export interface Setting<T> {
  /** The environment variable. */
  env: string;
  /** The type as the documentation shows it (e.g. `integer 1–1000`, `true\|false`). */
  type: string;
  /** The default as the documentation shows it, in Markdown ('' when there is none). */
  defaultText: string;
  /** What the setting does, one or two sentences of Markdown. */
  description: string;
  /** Reads the value from the environment: the default when unset or empty, else the parsed value. */
  read(env: Env): T;
}

interface Declared<T> {
  env: string;
  description: string;
  default: T;
  /** How the default is shown (Markdown) when the value alone would not say it: computed, or a list. */
  defaultText?: string;
}

function rawValue(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw;
}

function declare<T>(d: Declared<T>, type: string, parse: (raw: string) => T): Setting<T> {
  return {
    env: d.env,
    type,
    defaultText: d.defaultText ?? (d.default === null ? '' : `\`${String(d.default)}\``),
    description: d.description,
    read(env) {
      const raw = rawValue(env, d.env);
      return raw === undefined ? d.default : parse(raw);
    },
  };
}

export function integer(d: Declared<number> & { min: number; max: number }): Setting<number> {
  return declare(d, `integer ${d.min}–${d.max}`, (raw) => {
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${d.env} must be a whole number, got "${raw}"`);
    const n = Number(raw);
    if (n < d.min || n > d.max) throw new ConfigError(`${d.env} must be between ${d.min} and ${d.max}, got ${n}`);
    return n;
  });
}

export function optionalInteger(d: Declared<number | null> & { min: number; max: number }): Setting<number | null> {
  const inner = integer({ ...d, default: 0 });
  return {
    ...inner,
    defaultText: d.defaultText ?? '',
    read: (env) => (rawValue(env, d.env) === undefined ? null : inner.read(env)),
  };
}

export function boolean(d: Declared<boolean>): Setting<boolean> {
  return declare(d, '`true` or `false`', (raw) => {
    if (/^(1|true|yes|on)$/i.test(raw.trim())) return true;
    if (/^(0|false|no|off)$/i.test(raw.trim())) return false;
    throw new ConfigError(`${d.env} must be true or false, got "${raw}"`);
  });
}

export function oneOf<T extends string>(
  d: Declared<T> & { values: readonly T[]; caseInsensitive?: boolean },
): Setting<T> {
  return declare(d, d.values.map((v) => `\`${v}\``).join(', '), (raw) => {
    const value = (d.caseInsensitive ? raw.trim().toUpperCase() : raw.trim()) as T;
    if (!d.values.includes(value)) throw new ConfigError(`${d.env} must be ${listed(d.values)}, got "${raw}"`);
    return value;
  });
}

export function text(d: Declared<string>): Setting<string> {
  return declare(d, 'text', (raw) => raw.trim());
}

export function optionalText(d: Declared<string | null>): Setting<string | null> {
  return declare(d, 'text', (raw) => raw.trim());
}

/** A secret (signing key, token) of at least `minLength` characters, taken as given; null when unset. */
export function secret(d: Declared<string | null> & { minLength: number }): Setting<string | null> {
  const { minLength, ...declared } = d;
  return declare(declared, `text, ≥ ${minLength} characters`, (raw) => {
    if (raw.length < minLength) throw new ConfigError(`${d.env} must be at least ${minLength} characters`);
    return raw;
  });
}

/** Any shape: the parser validates and converts (URLs, lists, durations). */
export function custom<T>(d: Declared<T> & { type: string; parse: (raw: string) => T }): Setting<T> {
  return declare(d, d.type, d.parse);
}

/** Parses "30s", "5m", "1h", "2d", "250ms" or plain seconds into seconds. */
export function parseDuration(raw: string, name: string): number {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(raw);
  if (!m) throw new ConfigError(`${name}: "${raw}" is not a duration like 30s, 5m, 1h or 2d`);
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? 's']!;
  return Number(m[1]) * factor;
}

export function duration(d: Declared<number> & { defaultText: string }): Setting<number> {
  return declare(d, 'duration (`30s`, `5m`, `1h`, `2d`)', (raw) => parseDuration(raw, d.env));
}

function listed(values: readonly string[]): string {
  return values.length <= 2 ? values.join(' or ') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;
}
