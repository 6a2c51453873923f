// MTA-STS (RFC 8461): which recipient domains require verified TLS to which exchangers. A domain
// announces a policy with a `_mta-sts.<domain>` TXT record (`v=STSv1; id=…`); the policy itself is
// fetched over HTTPS from `https://mta-sts.<domain>/.well-known/mta-sts.txt` (a valid certificate,
// no redirects) and kept for its max_age, in the database so it survives restarts. A new id in DNS
// means a new policy to fetch; a failed fetch or look-up keeps the cached policy while it is valid
// (that is the point of caching: an attacker who strips the TXT record gains nothing); with no
// valid policy at all the domain is treated as having none.
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Logger } from 'pino';
import { parseStsPolicy, parseStsRecord, type StsPolicy } from '../../domain/mta-sts-policy.ts';

export interface CachedPolicy {
  id: string;
  policy: StsPolicy;
  fetchedAt: number;
  expiresAt: number;
}

export interface PolicyStore {
  load(domain: string): Promise<CachedPolicy | null>;
  save(domain: string, cached: CachedPolicy): Promise<void>;
}

export interface StsPolicySource {
  /** The domain's policy in force now, or null when it has none (or none could be had). */
  policyFor(domain: string): Promise<StsPolicy | null>;
}

/** DNS is asked again for a domain's policy id this often (the policy itself lives for its max_age). */
const RECHECK_MS = 5 * 60_000;
const FETCH_TIMEOUT_MS = 10_000;
const MEMORY_ENTRIES = 10_000;
/** RFC 8461 §3.3: senders may limit the policy's size; 64 KiB is far more than any real one. */
const MAX_POLICY_BYTES = 64 * 1024;

export function createStsPolicySource(opts: {
  /** TXT records of a name; [] when there are none; throws when the look-up fails. */
  txt(name: string): Promise<string[]>;
  fetchPolicy(domain: string): Promise<string>;
  store: PolicyStore;
  log: Logger;
  now?: () => number;
}): StsPolicySource {
  const now = opts.now ?? Date.now;
  const memory = new Map<string, { policy: StsPolicy | null; checkedAt: number }>();
  const pending = new Map<string, Promise<StsPolicy | null>>();

  async function current(domain: string): Promise<StsPolicy | null> {
    // A cache that cannot be read is not an absent policy: the error defers the message rather
    // than let it go out without a policy that may be cached (a downgrade).
    const cached = await opts.store.load(domain);
    const valid = cached && cached.expiresAt > now() ? cached : null;
    let id: string | null;
    try {
      id = parseStsRecord(await opts.txt(`_mta-sts.${domain}`));
    } catch (error) {
      opts.log.warn({ err: error, domain }, 'MTA-STS record look-up failed; using the cached policy if any');
      return valid?.policy ?? null;
    }
    if (id === null) return valid?.policy ?? null;
    if (valid && valid.id === id) return valid.policy;
    try {
      const policy = parseStsPolicy(await opts.fetchPolicy(domain));
      const at = now();
      await opts.store
        .save(domain, { id, policy, fetchedAt: at, expiresAt: at + policy.maxAgeSeconds * 1000 })
        .catch((error: unknown) => opts.log.warn({ err: error, domain }, 'could not cache the MTA-STS policy'));
      return policy;
    } catch (error) {
      opts.log.warn({ err: error, domain }, 'MTA-STS policy fetch failed; using the cached policy if any');
      return valid?.policy ?? null;
    }
  }

  return {
    policyFor(rawDomain) {
      const domain = rawDomain.toLowerCase();
      const hit = memory.get(domain);
      if (hit && now() - hit.checkedAt < RECHECK_MS) return Promise.resolve(hit.policy);
      let p = pending.get(domain);
      if (!p) {
        p = current(domain).finally(() => pending.delete(domain));
        p = p.then((policy) => {
          // Bounded: the oldest answer goes first (the database keeps the policies themselves).
          if (memory.size >= MEMORY_ENTRIES) memory.delete(memory.keys().next().value!);
          memory.set(domain, { policy, checkedAt: now() });
          return policy;
        });
        pending.set(domain, p);
      }
      return p;
    },
  };
}

/**
 * GET https://mta-sts.<domain>:<port>/.well-known/mta-sts.txt with a certificate valid for that
 * name (system CAs plus `ca`), no redirects, a text/plain answer of bounded size. The host name is
 * resolved through `lookup` (our configured resolver), not the system's.
 */
export function fetchStsPolicyText(
  domain: string,
  opts: { port: number; ca?: string[]; lookup: LookupFunction; timeoutMs?: number },
): Promise<string> {
  const host = `mta-sts.${domain}`;
  return new Promise((resolve, reject) => {
    const request = https.get(
      {
        host,
        servername: host,
        port: opts.port,
        path: '/.well-known/mta-sts.txt',
        ca: opts.ca,
        lookup: opts.lookup,
        timeout: opts.timeoutMs ?? FETCH_TIMEOUT_MS,
        headers: { 'user-agent': 'Posthorn MTA-STS' },
        agent: false,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`${host} answered HTTP ${res.statusCode} (redirects are not followed)`));
          return;
        }
        if (!/^text\/plain\b/i.test(res.headers['content-type'] ?? '')) {
          res.resume();
          reject(new Error(`${host} served the policy as ${res.headers['content-type'] ?? 'no type'}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_POLICY_BYTES) request.destroy(new Error(`${host}: policy larger than 64 KiB`));
          else chunks.push(c);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${host}: no answer within the time limit`)));
    request.on('error', reject);
  });
}
