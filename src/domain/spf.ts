// SPF records (RFC 7208) as far as suggesting one needs: split a record into terms, tell which
// terms cost a DNS lookup, and merge a domain's records with our include into one record.
// Pure: the look-ups themselves happen in the service, which passes their answers in.

/** RFC 7208 §4.6.4: at most 10 terms that cause DNS queries, counted through includes and redirects. */
export const SPF_LOOKUP_LIMIT = 10;

export interface SpfTerm {
  /** As written, e.g. `~all`, `include:_spf.example.com`, `redirect=example.net`. */
  raw: string;
  qualifier: '+' | '-' | '~' | '?';
  /** Mechanism or modifier name, lower case: all, include, a, mx, ptr, ip4, ip6, exists, redirect, exp, … */
  name: string;
  /** What follows `:` (mechanisms) or `=` (modifiers), or null. */
  value: string | null;
  modifier: boolean;
}

const LOOKUP_TERMS = new Set(['include', 'a', 'mx', 'ptr', 'exists', 'redirect']);

export function isSpfRecord(txt: string): boolean {
  return /^v=spf1(\s|$)/i.test(txt.trim());
}

export function parseTerm(raw: string): SpfTerm {
  const modifier = /^[a-z][a-z0-9_.-]*=/i.exec(raw);
  if (modifier) {
    const name = raw.slice(0, raw.indexOf('=')).toLowerCase();
    return { raw, qualifier: '+', name, value: raw.slice(name.length + 1), modifier: true };
  }
  const qualifier = '+-~?'.includes(raw[0]) ? (raw[0] as SpfTerm['qualifier']) : '+';
  const body = '+-~?'.includes(raw[0]) ? raw.slice(1) : raw;
  const sep = body.search(/[:/]/);
  const name = (sep < 0 ? body : body.slice(0, sep)).toLowerCase();
  const value = sep < 0 ? null : body[sep] === ':' ? body.slice(sep + 1) : body.slice(sep);
  return { raw, qualifier, name, value, modifier: false };
}

/** The terms after `v=spf1`. */
export function spfTerms(record: string): SpfTerm[] {
  return record.trim().split(/\s+/).slice(1).filter(Boolean).map(parseTerm);
}

export function costsLookup(term: SpfTerm): boolean {
  return LOOKUP_TERMS.has(term.name);
}

const hasMacro = (value: string) => value.includes('%');

/** The domain whose record an include or redirect pulls in, when it names one without macros. */
export function referencedDomain(term: SpfTerm): string | null {
  if ((term.name !== 'include' && term.name !== 'redirect') || !term.value || hasMacro(term.value)) return null;
  return term.value.toLowerCase().replace(/\.$/, '');
}

/**
 * The ip4/ip6 terms an included record stands for, when it can be replaced by them without
 * changing any result: only passing ip4/ip6 terms (and includes of the same kind, given as
 * `nested`) and a final non-passing `all`. Null when the record does anything else.
 */
export function flattenableAddresses(terms: SpfTerm[], nested: (domain: string) => string[] | null): string[] | null {
  const out: string[] = [];
  for (const t of terms) {
    if (t.modifier) {
      if (t.name === 'redirect') return null;
      continue; // exp= and unknown modifiers change nothing for a match
    }
    if (t.name === 'all') {
      if (t.qualifier === '+') return null;
      continue;
    }
    if (t.qualifier !== '+') return null;
    if (t.name === 'ip4' || t.name === 'ip6') out.push(`${t.name}:${t.value ?? ''}`);
    else if (t.name === 'include') {
      const target = referencedDomain(t);
      const inner = target ? nested(target) : null;
      if (!inner) return null;
      out.push(...inner);
    } else return null;
  }
  return out;
}

export interface MergedSpf {
  /** Mechanisms in order (ours included), then modifiers; `all` last. */
  terms: string[];
  alreadyIncluded: boolean;
}

/**
 * One record from the domain's SPF records and our include: every mechanism once, in the order
 * found, ours just before `all`. The first record's `all` is kept (`~all` when there is none and no
 * redirect); a redirect is dropped when an `all` exists, since it would never apply (RFC 7208 §6.1).
 */
export function mergeSpf(records: string[], ourInclude: string): MergedSpf {
  const ours = `include:${ourInclude.toLowerCase()}`;
  const mechanisms: string[] = [];
  const modifiers: string[] = [];
  const seen = new Set<string>();
  let all: string | null = null;
  let redirect: string | null = null;
  for (const record of records) {
    for (const t of spfTerms(record)) {
      const key = t.raw.toLowerCase();
      if (t.name === 'all' && !t.modifier) all ??= t.raw;
      else if (t.name === 'redirect') redirect ??= t.raw;
      else if (!seen.has(key)) {
        seen.add(key);
        (t.modifier ? modifiers : mechanisms).push(t.raw);
      }
    }
  }
  const alreadyIncluded = mechanisms.some((m) => {
    const t = parseTerm(m);
    return t.name === 'include' && t.qualifier === '+' && referencedDomain(t) === ourInclude.toLowerCase();
  });
  if (!alreadyIncluded) mechanisms.push(ours);
  const tail = all !== null ? [all] : redirect !== null ? [redirect] : ['~all'];
  return { terms: [...mechanisms, ...modifiers, ...tail], alreadyIncluded };
}

export function renderSpf(terms: string[]): string {
  return ['v=spf1', ...terms].join(' ');
}
