// MTA-STS (RFC 8461), the pure parts: the `_mta-sts` TXT record, the policy file, and whether an MX
// host name is one the policy allows.

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  mode: StsMode;
  /** MX patterns: `mx.example.com`, or `*.example.com` for exactly one more label on the left. */
  mx: string[];
  maxAgeSeconds: number;
}

/** RFC 8461 §3.2: max_age is at most a year (31557600 s). */
export const MAX_POLICY_AGE_SECONDS = 31_557_600;

/**
 * The policy id of a domain's `_mta-sts` TXT records, or null when there is no (usable) record.
 * Records that do not start with `v=STSv1` are not STS records; more than one STS record is an
 * error, which §3.1 says to treat as no record.
 */
export function parseStsRecord(records: string[]): string | null {
  const sts = records.map((r) => r.trim()).filter((r) => /^v=STSv1\s*(;|$)/.test(r));
  if (sts.length !== 1) return null;
  for (const field of sts[0].split(';')) {
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    if (field.slice(0, eq).trim() === 'id') {
      const id = field.slice(eq + 1).trim();
      return /^[A-Za-z0-9]{1,32}$/.test(id) ? id : null;
    }
  }
  return null;
}

export class StsPolicyError extends Error {}

/** Parses the policy file served at https://mta-sts.<domain>/.well-known/mta-sts.txt. */
export function parseStsPolicy(text: string): StsPolicy {
  const fields = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new StsPolicyError(`policy line without a colon: "${line.slice(0, 80)}"`);
    const key = line.slice(0, colon).trim();
    fields.set(key, [...(fields.get(key) ?? []), line.slice(colon + 1).trim()]);
  }
  if (fields.get('version')?.[0] !== 'STSv1') throw new StsPolicyError('the policy is not version STSv1');
  const mode = fields.get('mode')?.[0];
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none')
    throw new StsPolicyError(`unknown policy mode "${mode ?? ''}"`);
  const maxAge = fields.get('max_age')?.[0] ?? '';
  if (!/^\d{1,10}$/.test(maxAge)) throw new StsPolicyError(`max_age must be a number of seconds, got "${maxAge}"`);
  const mx = (fields.get('mx') ?? []).map((p) => p.toLowerCase().replace(/\.$/, ''));
  if (mode !== 'none' && mx.length === 0)
    throw new StsPolicyError('a policy in enforce or testing mode needs mx lines');
  for (const pattern of mx) {
    if (!/^(\*\.)?([a-z0-9-]+\.)+[a-z0-9-]+$/.test(pattern)) throw new StsPolicyError(`bad mx pattern "${pattern}"`);
  }
  return { mode, mx, maxAgeSeconds: Math.min(Number(maxAge), MAX_POLICY_AGE_SECONDS) };
}

/** RFC 8461 §4.1: exact (case-insensitive), or a wildcard standing for exactly one leftmost label. */
export function mxMatchesPattern(host: string, pattern: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (!pattern.startsWith('*.')) return name === pattern;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

export function mxAllowedByPolicy(host: string, policy: StsPolicy): boolean {
  return policy.mx.some((p) => mxMatchesPattern(host, p));
}
