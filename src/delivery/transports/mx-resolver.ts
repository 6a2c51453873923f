// Where to deliver a recipient domain's mail: its MX hosts in order (RFC 5321 §5.1), each with its
// addresses, through the resolver POSTHORN_DNS_SERVERS names (the system's otherwise). Answers that
// settle the matter at once — the domain does not exist (NXDOMAIN), or publishes a null MX (RFC
// 7505) — bounce without a connection; a resolver that fails or times out (SERVFAIL, no answer)
// defers the message to the normal retry schedule. Answers are cached for their TTL.
// Node's resolver reports TTLs for address records but not for MX records, so an MX answer is
// kept as long as the shortest TTL among its hosts' addresses (at most an hour).
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { parseSmtpReply, type SmtpReply } from '../../domain/bounce-classes.ts';
import { interleaveAddresses, isNullMx, orderMxHosts } from '../../domain/mx-order.ts';

export interface MxHost {
  name: string;
  preference: number;
  /** In the order to try them (IPv6 and IPv4 alternating when both are used). */
  addresses: string[];
}

export type MxRoute =
  | { kind: 'hosts'; hosts: MxHost[]; implicit: boolean }
  /** Undeliverable for good: bounce now, no connection attempted. */
  | { kind: 'bounce'; reply: SmtpReply }
  /** Not resolvable right now: try again later. */
  | { kind: 'defer'; reply: SmtpReply };

export interface MxResolver {
  resolve(domain: string): Promise<MxRoute>;
  /** Addresses of a host name (IPv6 and IPv4 alternating when IPv6 is used); [] when it has none. */
  addresses(name: string): Promise<string[]>;
  /** TXT records of a name, each joined into one string; [] when there are none; throws when the look-up fails. */
  txt(name: string): Promise<string[]>;
}

const MAX_CACHE_MS = 3_600_000;
const MIN_CACHE_MS = 5_000;
/** A domain that does not exist (or takes no mail) is asked again after a minute. */
const NEGATIVE_CACHE_MS = 60_000;
/** A failing resolver is not asked again for every message of a queue. */
const FAILURE_CACHE_MS = 2_000;
const CACHE_ENTRIES = 10_000;

/** The domain has no record of this type, or does not exist at all. */
const ABSENT = new Set(['ENODATA', 'ENOTFOUND']);

interface Addresses {
  list: string[];
  ttlMs: number;
  /** The look-up failed (as opposed to: the name has no such records). */
  failed: boolean;
}

export function createMxResolver(opts: {
  servers: string[];
  ipv6: boolean;
  now?: () => number;
  timeoutMs?: number;
}): MxResolver {
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? 3000, tries: 2 });
  if (opts.servers.length) resolver.setServers(opts.servers);
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { route: MxRoute; until: number }>();
  const pending = new Map<string, Promise<MxRoute>>();

  async function family(name: string, six: boolean): Promise<Addresses> {
    try {
      const records = six ? await resolver.resolve6(name, { ttl: true }) : await resolver.resolve4(name, { ttl: true });
      const ttl = Math.min(...records.map((r) => r.ttl));
      return { list: records.map((r) => r.address), ttlMs: ttl * 1000, failed: false };
    } catch (error) {
      const absent = ABSENT.has((error as NodeJS.ErrnoException).code ?? '');
      return { list: [], ttlMs: absent ? NEGATIVE_CACHE_MS : 0, failed: !absent };
    }
  }

  async function addressesOf(name: string): Promise<Addresses> {
    if (isIP(name)) return { list: [name], ttlMs: MAX_CACHE_MS, failed: false };
    const [v4, v6] = await Promise.all([
      family(name, false),
      opts.ipv6 ? family(name, true) : Promise.resolve({ list: [], ttlMs: MAX_CACHE_MS, failed: false }),
    ]);
    return {
      list: interleaveAddresses(v6.list, v4.list),
      ttlMs: Math.min(v4.list.length ? v4.ttlMs : MAX_CACHE_MS, v6.list.length ? v6.ttlMs : MAX_CACHE_MS),
      failed: v4.failed || v6.failed,
    };
  }

  const reply = (line: string) => parseSmtpReply(line);

  async function lookup(domain: string): Promise<{ route: MxRoute; cacheMs: number }> {
    let records: { exchange: string; priority: number }[];
    let implicit = false;
    try {
      records = await resolver.resolveMx(domain);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      if (code === 'ENOTFOUND')
        return {
          route: { kind: 'bounce', reply: reply(`550 5.1.2 ${domain}: the domain does not exist (NXDOMAIN)`) },
          cacheMs: NEGATIVE_CACHE_MS,
        };
      if (code !== 'ENODATA')
        return {
          route: { kind: 'defer', reply: reply(`451 4.4.3 ${domain}: MX look-up failed (${code}), will try again`) },
          cacheMs: FAILURE_CACHE_MS,
        };
      // No MX at all: the domain itself is the mail exchanger (implicit MX, RFC 5321 §5.1).
      records = [{ exchange: domain, priority: 0 }];
      implicit = true;
    }
    if (isNullMx(records))
      return {
        route: { kind: 'bounce', reply: reply(`556 5.1.10 ${domain} accepts no mail (null MX, RFC 7505)`) },
        cacheMs: NEGATIVE_CACHE_MS,
      };
    const names = orderMxHosts(records);
    const preference = new Map<string, number>();
    for (const r of records) {
      const name = r.exchange.toLowerCase().replace(/\.$/, '');
      preference.set(name, Math.min(preference.get(name) ?? r.priority, r.priority));
    }
    const found = await Promise.all(names.map(addressesOf));
    const hosts = names
      .map((name, i) => ({ name, preference: preference.get(name) ?? 0, addresses: found[i].list }))
      .filter((h) => h.addresses.length > 0);
    const anyFailed = found.some((a) => a.failed);
    if (hosts.length === 0) {
      if (implicit && !anyFailed)
        return {
          route: { kind: 'bounce', reply: reply(`550 5.1.2 ${domain} has no MX and no address records`) },
          cacheMs: NEGATIVE_CACHE_MS,
        };
      return {
        route: {
          kind: 'defer',
          reply: reply(
            anyFailed
              ? `451 4.4.3 ${domain}: address look-up of its mail exchangers failed, will try again`
              : `451 4.4.4 ${domain}: none of its mail exchangers (${names.join(', ')}) has an address`,
          ),
        },
        cacheMs: anyFailed ? FAILURE_CACHE_MS : NEGATIVE_CACHE_MS,
      };
    }
    const ttl = Math.min(...found.filter((a) => a.list.length).map((a) => a.ttlMs));
    return {
      route: { kind: 'hosts', hosts, implicit },
      cacheMs: Math.max(MIN_CACHE_MS, Math.min(MAX_CACHE_MS, anyFailed ? FAILURE_CACHE_MS : ttl)),
    };
  }

  return {
    async addresses(name) {
      return (await addressesOf(name)).list;
    },
    async txt(name) {
      try {
        return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
      } catch (error) {
        if (ABSENT.has((error as NodeJS.ErrnoException).code ?? '')) return [];
        throw error;
      }
    },
    resolve(rawDomain) {
      const domain = rawDomain.toLowerCase().replace(/\.$/, '');
      const hit = cache.get(domain);
      if (hit && hit.until > now()) return Promise.resolve(reorder(hit.route));
      let p = pending.get(domain);
      if (!p) {
        p = lookup(domain).then(({ route, cacheMs }) => {
          pending.delete(domain);
          if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
          cache.set(domain, { route, until: now() + cacheMs });
          return route;
        });
        pending.set(domain, p);
      }
      return p.then(reorder);
    },
  };
}

/** Hosts of equal preference are tried in a new random order for every message, not once per cached answer. */
function reorder(route: MxRoute): MxRoute {
  if (route.kind !== 'hosts' || route.hosts.length < 2) return route;
  const byName = new Map(route.hosts.map((h) => [h.name, h]));
  const order = orderMxHosts(route.hosts.map((h) => ({ exchange: h.name, priority: h.preference })));
  return { ...route, hosts: order.map((name) => byName.get(name)!) };
}
