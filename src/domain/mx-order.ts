// Which hosts to try for a recipient domain, from its MX records (RFC 5321 §5.1): lowest
// preference first, hosts of equal preference in random order (so senders spread their load over
// them), each host once. A domain whose only MX is "." accepts no mail at all (null MX, RFC 7505).

export interface MxRecord {
  exchange: string;
  priority: number;
}

const normalize = (name: string) => name.trim().toLowerCase().replace(/\.$/, '');

/** RFC 7505: a single MX of preference 0 whose exchange is the root ("." — "" as resolvers print it). */
export function isNullMx(records: MxRecord[]): boolean {
  return records.length > 0 && records.every((r) => normalize(r.exchange) === '');
}

/** The exchanges to try, in order; null-MX entries mixed with real ones are ignored. */
export function orderMxHosts(records: MxRecord[], random: () => number = Math.random): string[] {
  const byPreference = new Map<number, string[]>();
  for (const r of records) {
    const host = normalize(r.exchange);
    if (!host) continue;
    const list = byPreference.get(r.priority) ?? [];
    list.push(host);
    byPreference.set(r.priority, list);
  }
  const ordered: string[] = [];
  for (const preference of [...byPreference.keys()].sort((a, b) => a - b)) {
    const hosts = byPreference.get(preference)!;
    // Fisher–Yates: every order of equally preferred hosts is as likely as any other.
    for (let i = hosts.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [hosts[i], hosts[j]] = [hosts[j], hosts[i]];
    }
    for (const h of hosts) if (!ordered.includes(h)) ordered.push(h);
  }
  return ordered;
}

/**
 * Addresses of one host in the order to try them: IPv6 and IPv4 alternating (IPv6 first), so a
 * broken path of one family costs one attempt rather than all of them.
 */
export function interleaveAddresses(v6: string[], v4: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(v6.length, v4.length); i++) {
    if (i < v6.length) out.push(v6[i]);
    if (i < v4.length) out.push(v4[i]);
  }
  return out;
}
