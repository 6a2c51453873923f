// GET /v1/domain/sending/{id}/spf-suggestion: the domain's SPF record merged with our include,
// within SPF's limit of 10 DNS lookups. Every include and redirect is followed through the
// configured resolver (ctx.dns) to count what the record really costs; when ours would push it
// over the limit, includes of the customer's record that stand only for IP addresses are
// replaced by those addresses (flattened), most expensive first. Our own include is never
// flattened, so a change of our addresses needs no change of the customer's DNS.
import type { Context } from '../context.ts';
import {
  SPF_LOOKUP_LIMIT,
  costsLookup,
  flattenableAddresses,
  isSpfRecord,
  mergeSpf,
  parseTerm,
  referencedDomain,
  renderSpf,
  spfTerms,
} from '../domain/spf.ts';

export interface SpfSuggestion {
  /** The record to publish at the domain; "" when none fits in 10 lookups. */
  suggestion: string;
  /** The SPF records found at the domain now. */
  spfRecords: string[];
  note: string;
}

/** Include chains deeper than this are not followed (RFC 7208 only bounds them by the 10 lookups). */
const MAX_DEPTH = 10;

class SpfResolver {
  private readonly records = new Map<string, Promise<string[] | null>>();
  readonly failed = new Set<string>();

  constructor(private readonly ctx: Context) {}

  /** The SPF records published at `domain`; null when the lookup failed. */
  spfRecordsOf(domain: string): Promise<string[] | null> {
    let p = this.records.get(domain);
    if (!p) {
      p = this.ctx.dns.txt(domain).then(
        (txt) => txt.filter(isSpfRecord),
        () => {
          this.failed.add(domain);
          return null;
        },
      );
      this.records.set(domain, p);
    }
    return p;
  }

  /** Lookups one term costs, counting what an include or redirect pulls in. */
  async cost(raw: string, path: string[] = []): Promise<number> {
    const term = parseTerm(raw);
    if (!costsLookup(term)) return 0;
    const target = referencedDomain(term);
    // A loop (a → b → a) is a permanent error for receivers; count the step and stop.
    if (!target || path.includes(target) || path.length >= MAX_DEPTH) return 1;
    const found = await this.spfRecordsOf(target);
    const record = found?.[0];
    if (!record) return 1;
    let total = 1;
    for (const t of spfTerms(record)) total += await this.cost(t.raw, [...path, target]);
    return total;
  }

  /** The addresses an include stands for, when it may be replaced by them (see flattenableAddresses). */
  async addressesOf(domain: string, path: string[] = []): Promise<string[] | null> {
    if (path.includes(domain) || path.length >= MAX_DEPTH) return null;
    const record = (await this.spfRecordsOf(domain))?.[0];
    if (!record) return null;
    const terms = spfTerms(record);
    const nested = new Map<string, string[] | null>();
    for (const t of terms) {
      const target = t.name === 'include' ? referencedDomain(t) : null;
      if (target) nested.set(target, await this.addressesOf(target, [...path, domain]));
    }
    return flattenableAddresses(terms, (d) => nested.get(d) ?? null);
  }
}

const lookups = (n: number) => `${n} of the ${SPF_LOOKUP_LIMIT} DNS lookups SPF allows`;

export async function suggestSpf(ctx: Context, domain: string): Promise<SpfSuggestion> {
  const ours = ctx.config.spfInclude.toLowerCase();
  const resolver = new SpfResolver(ctx);
  const found = await resolver.spfRecordsOf(domain);
  const spfRecords = found ?? [];
  const notes: string[] = [];
  if (found === null) notes.push(`The TXT lookup of ${domain} failed, so the suggestion starts from no record.`);
  else if (found.length === 0) notes.push(`No SPF record was found at ${domain}; publish this one.`);
  else if (found.length > 1)
    notes.push(
      `${found.length} SPF records were found at ${domain}; a domain may publish only one ` +
        '(RFC 7208 §4.5), so they are merged into one.',
    );

  const merged = mergeSpf(spfRecords, ours);
  const terms = [...merged.terms];
  const costs = await Promise.all(terms.map((t) => resolver.cost(t)));
  let total = costs.reduce((a, b) => a + b, 0);

  const flattened: string[] = [];
  while (total > SPF_LOOKUP_LIMIT) {
    // The most expensive include of the customer's that stands only for addresses goes first.
    let best = -1;
    let bestAddresses: string[] | null = null;
    for (let i = 0; i < terms.length; i++) {
      const term = parseTerm(terms[i]);
      const target = referencedDomain(term);
      if (term.name !== 'include' || !target || target === ours || costs[i] === 0) continue;
      if (best >= 0 && costs[i] <= costs[best]) continue;
      const addresses = await resolver.addressesOf(target);
      if (addresses) {
        best = i;
        bestAddresses = addresses;
      }
    }
    if (best < 0 || !bestAddresses) break;
    const qualifier = parseTerm(terms[best]).qualifier;
    const prefix = qualifier === '+' ? '' : qualifier;
    flattened.push(terms[best]);
    total -= costs[best];
    terms.splice(best, 1, ...bestAddresses.map((a) => prefix + a));
    costs.splice(best, 1, ...bestAddresses.map(() => 0));
  }

  for (const failed of resolver.failed)
    if (failed !== domain) notes.push(`The lookup of ${failed} failed; it was counted as one lookup.`);

  if (total > SPF_LOOKUP_LIMIT) {
    notes.push(
      `Merged with include:${ours} the record would need ${total} DNS lookups, ` +
        `more than the ${SPF_LOOKUP_LIMIT} SPF allows, ` +
        'and no include can be replaced by its addresses. Remove mechanisms you no longer ' +
        'need (a, mx, ptr, exists, include), then ask again.',
    );
    return { suggestion: '', spfRecords, note: notes.join(' ') };
  }
  if (merged.alreadyIncluded && found?.length === 1 && flattened.length === 0) {
    notes.push(`The SPF record already includes ${ours}; nothing to change. It needs ${lookups(total)}.`);
    return { suggestion: found[0], spfRecords, note: notes.join(' ') };
  }
  if (found && found.length > 0) notes.push(`Merged with include:${ours}, the record needs ${lookups(total)}.`);
  else notes.push(`It needs ${lookups(total)}.`);
  if (flattened.length > 0)
    notes.push(
      `To stay within the limit, ${flattened.join(', ')} ` +
        (flattened.length === 1
          ? 'was replaced by the addresses it stands '
          : 'were replaced by the addresses they stand ') +
        'for; ask again when that provider changes its addresses.',
    );
  return { suggestion: renderSpf(terms), spfRecords, note: notes.join(' ') };
}
