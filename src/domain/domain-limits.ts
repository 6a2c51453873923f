// Politeness limits per destination domain, from one setting:
//
//   POSTHORN_MX_DOMAIN_LIMITS='*:connections=10; gmail.com googlemail.com:connections=20,rate=50/s;
//                              yahoo.com:rate=300/m'
//
// Entries are separated by ";". Each is one or more domain names (space-separated; "*" stands for
// every domain not named elsewhere), a colon, and comma-separated settings:
//   connections=N   at most N messages in flight to the domain at once (1–1000)
//   rate=N/s|N/m|N/h  at most N messages started per second, minute or hour ("rate=off": none)
// A setting an entry leaves out comes from the "*" entry, else from the defaults below.

export interface DomainLimit {
  connections: number;
  /** Messages per `rate.perMs`, or null for no rate limit. */
  rate: { count: number; perMs: number } | null;
}

export const DEFAULT_DOMAIN_LIMIT: DomainLimit = { connections: 10, rate: null };

export interface DomainLimits {
  fallback: DomainLimit;
  byDomain: Map<string, DomainLimit>;
}

export class DomainLimitsError extends Error {}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

type Partial = { connections?: number; rate?: DomainLimit['rate'] };

function parseSettings(text: string, entry: string): Partial {
  const out: Partial = {};
  for (const raw of text.split(',')) {
    const setting = raw.trim();
    if (!setting) continue;
    const eq = setting.indexOf('=');
    const name = (eq < 0 ? setting : setting.slice(0, eq)).trim().toLowerCase();
    const value =
      eq < 0
        ? ''
        : setting
            .slice(eq + 1)
            .trim()
            .toLowerCase();
    if (name === 'connections') {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000)
        throw new DomainLimitsError(`"${entry}": connections must be a whole number from 1 to 1000, got "${value}"`);
      out.connections = Number(value);
    } else if (name === 'rate') {
      if (value === 'off' || value === 'none') {
        out.rate = null;
        continue;
      }
      const m = /^(\d+)\s*\/\s*(s|m|h)$/.exec(value);
      if (!m || Number(m[1]) < 1)
        throw new DomainLimitsError(`"${entry}": rate must look like 50/s, 300/m or 1000/h (or off), got "${value}"`);
      out.rate = { count: Number(m[1]), perMs: UNIT_MS[m[2]] };
    } else {
      throw new DomainLimitsError(`"${entry}": unknown setting "${name}" (connections or rate)`);
    }
  }
  return out;
}

export function parseDomainLimits(raw: string | undefined): DomainLimits {
  const named = new Map<string, Partial>();
  let star: Partial = {};
  for (const piece of (raw ?? '').split(';')) {
    const entry = piece.trim();
    if (!entry) continue;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new DomainLimitsError(`"${entry}" needs the form "domain:connections=N,rate=N/s"`);
    const names = entry.slice(0, colon).trim().toLowerCase().split(/\s+/).filter(Boolean);
    if (names.length === 0) throw new DomainLimitsError(`"${entry}" names no domain (use * for every domain)`);
    const settings = parseSettings(entry.slice(colon + 1), entry);
    for (const name of names) {
      const domain = name.replace(/\.$/, '');
      if (domain === '*') star = { ...star, ...settings };
      else if (!DOMAIN.test(domain)) throw new DomainLimitsError(`"${entry}": "${name}" is not a domain name`);
      else named.set(domain, { ...(named.get(domain) ?? {}), ...settings });
    }
  }
  const fallback: DomainLimit = { ...DEFAULT_DOMAIN_LIMIT, ...star };
  const byDomain = new Map<string, DomainLimit>();
  for (const [domain, settings] of named) byDomain.set(domain, { ...fallback, ...settings });
  return { fallback, byDomain };
}

export function limitFor(limits: DomainLimits, domain: string): DomainLimit {
  return limits.byDomain.get(domain.toLowerCase()) ?? limits.fallback;
}
