// DNS look-ups for domain verification, through a resolver that POSTHORN_DNS_SERVERS can point
// at (tests run a small local DNS server).
import { Resolver } from 'node:dns/promises';

export interface DnsLookup {
  txt(name: string): Promise<string[]>;
  cname(name: string): Promise<string[]>;
}

// Only answers that say "no such record" count as absent. Timeouts and server failures are errors,
// so a DNS outage cannot unverify a domain (verification keeps the previous result then).
const MISSING = new Set(['ENOTFOUND', 'ENODATA']);

export function createDnsLookup(servers: string[]): DnsLookup {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers.length) resolver.setServers(servers);
  const safe = async <T>(fn: () => Promise<T>, empty: T): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (MISSING.has((error as NodeJS.ErrnoException).code ?? '')) return empty;
      throw error;
    }
  };
  return {
    txt: (name) => safe(async () => (await resolver.resolveTxt(name)).map((chunks) => chunks.join('')), []),
    cname: (name) => safe(() => resolver.resolveCname(name), []),
  };
}
