// Sending domains: adding one (with its DKIM key), reading them back with the DNS records to
// publish, and checking those records in DNS. Sending in production needs SPF and DKIM verified.
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound, required } from './errors.ts';
import type { Config } from '../config.ts';
import { isValidDomain } from '../domain/email-address.ts';
import { dkimRecordValue, generateDkimKey, generateEd25519DkimKey } from '../domain/dkim-keys.ts';
import {
  deleteDomain,
  findDefaultDomain,
  findDomain,
  findUsableDomain,
  insertDomainUnlessTaken,
  listDomains,
  listUnverifiedSpf,
  setDomainAssignment,
  updateDomainVerification,
  type NewSendingDomain,
  type SendingDomainRow,
} from '../store/domains.ts';
import { findAccount } from '../store/accounts.ts';
import { suggestSpf, type SpfSuggestion } from './spf-suggestion.ts';

export type Assignment = 'PRIMARY' | 'ALL';

export interface AddDomainInput {
  domain: string;
  note?: string | null;
  assignment?: string;
  /** Also sign with an Ed25519 key (RFC 8463); POSTHORN_DKIM_ED25519 decides when absent. */
  dkimEd25519?: boolean;
}

/** Verified when SPF and DKIM are; the contract's words (its list filter takes them too). */
export type DomainStatus = 'Verified' | 'Unverified';

/**
 * A domain as the contract's `model.SendingBounceDetailDomain` describes it, plus Posthorn's own
 * fields (note, DMARC, lastCheckedAt, fromParent). Never the private key.
 */
export interface SendingDomainView {
  id: number;
  domain: string;
  assignment: Assignment;
  status: DomainStatus[];
  types: string[];
  spfHostname: string;
  spfValue: string;
  spfVerified: boolean;
  dkimHostname: string;
  dkimSelector: string;
  dkimValue: string;
  dkimPublicKey: string;
  dkimVerified: boolean;
  /** The second DKIM key (Ed25519), null when the domain signs with RSA only. */
  dkimEd25519Hostname: string | null;
  dkimEd25519Selector: string | null;
  dkimEd25519Value: string | null;
  dkimEd25519Verified: boolean | null;
  cnameHostname: string;
  cnameValue: string;
  cnameVerified: boolean;
  createdAt: number;
  note: string | null;
  dmarcHostname: string;
  dmarcValue: string;
  dmarcVerified: boolean;
  lastCheckedAt: number | null;
  fromParent: boolean;
}

/** A domain in a list, as the contract's `model.SendingDomain` (status a string there), plus Posthorn's flags. */
export interface SendingDomainListItem {
  id: number;
  domain: string;
  status: DomainStatus;
  assignment: Assignment;
  default: boolean;
  types: string[];
  createdAt: number;
  note: string | null;
  spfVerified: boolean;
  dkimVerified: boolean;
  cnameVerified: boolean;
  dmarcVerified: boolean;
  lastCheckedAt: number | null;
  fromParent: boolean;
}

export const DMARC_RECOMMENDED = 'v=DMARC1; p=none;';

/**
 * The selector is `ph` + the UTC year and month the key was made + 4 random hex digits
 * (`ph202501a3f9`). It is stored with the domain and never changes for that key. The month lets a
 * later key rotation publish its record beside the old one; the random part keeps two accounts
 * that add the same domain (a parent and its sub-account, say) from needing the same DNS name.
 */
export function dkimSelectorFor(time: number): string {
  const d = new Date(time);
  return `ph${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${randomBytes(2).toString('hex')}`;
}

/** The host the return-path CNAME must point at: the configured bounce domain, else our own host. */
export function returnPathTarget(config: Config): string {
  return (config.returnPathDomain ?? new URL(config.publicUrl).hostname).toLowerCase();
}

export function spfRecordValue(config: Config): string {
  return `v=spf1 include:${config.spfInclude} ~all`;
}

const statusOf = (d: SendingDomainRow): DomainStatus => (d.status === 'verified' ? 'Verified' : 'Unverified');
const assignmentOf = (d: SendingDomainRow): Assignment => (d.assignment === 'ALL' ? 'ALL' : 'PRIMARY');
/** Every domain sends; once its return-path CNAME is verified it also takes the bounces. */
const typesOf = (d: SendingDomainRow): string[] => (d.cname_verified === 1 ? ['sending', 'bounce'] : ['sending']);

export function domainView(d: SendingDomainRow, config: Config, viewer: string = d.account_id): SendingDomainView {
  return {
    id: Number(d.id),
    domain: d.domain,
    assignment: assignmentOf(d),
    status: [statusOf(d)],
    types: typesOf(d),
    spfHostname: d.domain,
    spfValue: spfRecordValue(config),
    spfVerified: d.spf_verified === 1,
    dkimHostname: `${d.dkim_selector}._domainkey.${d.domain}`,
    dkimSelector: d.dkim_selector,
    dkimValue: dkimRecordValue(d.dkim_public_key),
    dkimPublicKey: d.dkim_public_key,
    dkimVerified: d.dkim_verified === 1,
    ...ed25519View(d),
    cnameHostname: `bounces.${d.domain}`,
    cnameValue: returnPathTarget(config),
    cnameVerified: d.cname_verified === 1,
    createdAt: Number(d.created_at),
    note: d.note,
    dmarcHostname: `_dmarc.${d.domain}`,
    dmarcValue: DMARC_RECOMMENDED,
    dmarcVerified: d.dmarc_verified === 1,
    lastCheckedAt: d.last_checked_at === null ? null : Number(d.last_checked_at),
    fromParent: d.account_id !== viewer,
  };
}

function ed25519View(d: SendingDomainRow) {
  const has = Boolean(d.dkim_ed25519_selector && d.dkim_ed25519_public_key);
  return {
    dkimEd25519Hostname: has ? `${d.dkim_ed25519_selector}._domainkey.${d.domain}` : null,
    dkimEd25519Selector: has ? d.dkim_ed25519_selector! : null,
    dkimEd25519Value: has ? dkimRecordValue(d.dkim_ed25519_public_key!, 'ed25519') : null,
    dkimEd25519Verified: has ? d.dkim_ed25519_verified === 1 : null,
  };
}

function listItem(d: SendingDomainRow, viewer: string, defaultId: number | null): SendingDomainListItem {
  return {
    id: Number(d.id),
    domain: d.domain,
    status: statusOf(d),
    assignment: assignmentOf(d),
    default: Number(d.id) === defaultId,
    types: typesOf(d),
    createdAt: Number(d.created_at),
    note: d.note,
    spfVerified: d.spf_verified === 1,
    dkimVerified: d.dkim_verified === 1,
    cnameVerified: d.cname_verified === 1,
    dmarcVerified: d.dmarc_verified === 1,
    lastCheckedAt: d.last_checked_at === null ? null : Number(d.last_checked_at),
    fromParent: d.account_id !== viewer,
  };
}

function parseAssignment(value: string | undefined): Assignment {
  if (value === undefined) return 'PRIMARY';
  const v = value.trim().toUpperCase();
  if (v === 'PRIMARY' || v === 'ALL') return v;
  throw invalid('assignment', 'must be PRIMARY (this account only) or ALL (shared with every sub-account)');
}

/** Only an account with no parent has sub-accounts to share with. */
async function assertMayShare(ctx: Context, accountId: string): Promise<void> {
  const account = await findAccount(ctx.db, accountId);
  if (account?.parent_id)
    throw new ServiceError('invalid', 'a sub-account cannot share a sending domain; its parent account can', 'id');
}

export async function addSendingDomain(
  ctx: Context,
  accountId: string,
  input: AddDomainInput,
): Promise<SendingDomainView> {
  const domain = (input.domain ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (!domain) throw required('domain');
  if (!isValidDomain(domain)) throw invalid('domain', `"${input.domain.slice(0, 100)}" is not a valid domain name`);
  const assignment = parseAssignment(input.assignment);
  if (assignment === 'ALL') await assertMayShare(ctx, accountId);
  const note = input.note?.trim() || null;
  const now = ctx.clock();
  const key = await generateDkimKey();
  const rsaSelector = dkimSelectorFor(now);
  const ed25519 = (input.dkimEd25519 ?? ctx.config.dkimEd25519) ? await generateEd25519DkimKey() : null;
  const row: NewSendingDomain = {
    account_id: accountId,
    domain,
    note,
    dkim_selector: rsaSelector,
    dkim_private_key: key.privateKeyPem,
    dkim_public_key: key.publicKeyBase64,
    // Its own selector (the RSA one with -ed), so both keys are published side by side.
    dkim_ed25519_selector: ed25519 ? `${rsaSelector}-ed` : null,
    dkim_ed25519_private_key: ed25519?.privateKeyPem ?? null,
    dkim_ed25519_public_key: ed25519?.publicKeyBase64 ?? null,
    dkim_ed25519_verified: 0,
    spf_verified: 0,
    dkim_verified: 0,
    cname_verified: 0,
    dmarc_verified: 0,
    status: 'unverified',
    assignment,
    last_checked_at: null,
    created_at: now,
  };
  const id = await insertDomainUnlessTaken(ctx.db, row);
  if (id === null) {
    throw new ServiceError('conflict', `the sending domain "${domain}" already exists in this account`, 'domain');
  }
  return domainView({ ...row, id, assignment }, ctx.config);
}

export interface DomainListQuery {
  page: number;
  size: number;
  search?: string;
  /** Verified, Unverified or Blocked (any case); Posthorn blocks no domain, so Blocked lists none. */
  status?: string;
}

/** The contract's list shape: an array holding one `{count, sendingDomain}`. */
export async function listSendingDomains(ctx: Context, accountId: string, q: DomainListQuery) {
  const status = q.status?.trim().toLowerCase();
  if (status && !['verified', 'unverified', 'blocked'].includes(status))
    throw invalid('status', 'must be Verified, Unverified or Blocked');
  if (status === 'blocked') return [{ count: 0, sendingDomain: [] }];
  const [{ count, rows }, preferred] = await Promise.all([
    listDomains(
      ctx.db,
      accountId,
      { search: q.search?.trim() || undefined, status: status as 'verified' | 'unverified' | undefined },
      (q.page - 1) * q.size,
      q.size,
    ),
    findDefaultDomain(ctx.db, accountId),
  ]);
  const defaultId = preferred ? Number(preferred.id) : null;
  return [{ count, sendingDomain: rows.map((d) => listItem(d, accountId, defaultId)) }];
}

/** The account's default sender domain: its oldest verified one. */
export async function defaultSendingDomain(ctx: Context, accountId: string): Promise<string | null> {
  return (await findDefaultDomain(ctx.db, accountId))?.domain ?? null;
}

async function loadOwnDomain(ctx: Context, accountId: string, id: number): Promise<SendingDomainRow> {
  const d = await findDomain(ctx.db, accountId, id);
  if (d) return d;
  // A domain the parent shares may be read, not changed.
  if (await findUsableDomain(ctx.db, accountId, id))
    throw new ServiceError('forbidden', `sending domain ${id} belongs to the parent account; only it can change it`);
  throw notFound(`sending domain ${id}`);
}

export async function getSendingDomain(ctx: Context, accountId: string, id: number): Promise<SendingDomainView> {
  const d = await findUsableDomain(ctx.db, accountId, id);
  if (!d) throw notFound(`sending domain ${id}`);
  return domainView(d, ctx.config, accountId);
}

export async function deleteSendingDomain(ctx: Context, accountId: string, id: number): Promise<void> {
  await loadOwnDomain(ctx, accountId, id);
  if (!(await deleteDomain(ctx.db, accountId, id))) throw notFound(`sending domain ${id}`);
}

/** Shares the domain with every sub-account (assignment ALL): they may send from it, DKIM-signed. */
export async function shareSendingDomain(ctx: Context, accountId: string, id: number): Promise<SendingDomainView> {
  const d = await loadOwnDomain(ctx, accountId, id);
  await assertMayShare(ctx, accountId);
  await setDomainAssignment(ctx.db, accountId, id, 'ALL');
  return domainView({ ...d, assignment: 'ALL' }, ctx.config);
}

/** The contract's `Counter-model_SimpleDomain`: own domains whose SPF record is not (yet) found. */
export async function unverifiedSpfDomains(ctx: Context, accountId: string) {
  const rows = await listUnverifiedSpf(ctx.db, accountId);
  return { count: rows.length, data: rows.map((r) => ({ id: Number(r.id), name: r.domain })) };
}

// ---- Matching what DNS answers against what we asked the client to publish ----

const normalizeHost = (host: string) => host.trim().toLowerCase().replace(/\.$/, '');

/** An SPF record (`v=spf1 …`) with an `include:` of our host (no qualifier or `+`: a pass). */
export function spfMatches(record: string, spfInclude: string): boolean {
  const terms = record.trim().split(/\s+/);
  if (terms[0]?.toLowerCase() !== 'v=spf1') return false;
  const wanted = `include:${normalizeHost(spfInclude)}`;
  return terms.slice(1).some((t) => normalizeHost(t.replace(/^\+/, '')) === wanted);
}

/** The p= tag of a DKIM key record, with the whitespace that TXT splitting may add removed. */
export function dkimPublicKeyOf(record: string): string | null {
  for (const tag of record.split(';')) {
    const eq = tag.indexOf('=');
    if (eq > 0 && tag.slice(0, eq).trim() === 'p') return tag.slice(eq + 1).replace(/\s+/g, '');
  }
  return null;
}

export function dmarcMatches(record: string): boolean {
  return /^v=DMARC1(\s|;|$)/.test(record.trim());
}

type Check = boolean | null; // null: the lookup failed, so we do not know

/** Runs one lookup; a resolver failure (not an absent record) is logged and reported as unknown. */
async function check(ctx: Context, what: string, lookup: () => Promise<boolean>): Promise<Check> {
  try {
    return await lookup();
  } catch (error) {
    ctx.log.warn({ err: error, record: what }, 'DNS lookup failed during domain verification');
    return null;
  }
}

/**
 * Looks the four records up now and stores the result. A record that is absent or different is
 * unverified; a lookup that fails (an error ctx.dns does not report as an empty answer) keeps the
 * previous result, so a DNS hiccup does not stop a verified domain from sending.
 */
export async function verifySendingDomain(ctx: Context, accountId: string, id: number): Promise<SendingDomainView> {
  const d = await loadOwnDomain(ctx, accountId, id);
  const view = domainView(d, ctx.config);
  const [spf, dkim, cname, dmarc, dkimEd25519] = await Promise.all([
    check(ctx, view.spfHostname, async () =>
      (await ctx.dns.txt(view.spfHostname)).some((r) => spfMatches(r, ctx.config.spfInclude)),
    ),
    check(ctx, view.dkimHostname, async () =>
      (await ctx.dns.txt(view.dkimHostname)).some((r) => dkimPublicKeyOf(r) === d.dkim_public_key),
    ),
    check(ctx, view.cnameHostname, async () =>
      (await ctx.dns.cname(view.cnameHostname)).some((t) => normalizeHost(t) === normalizeHost(view.cnameValue)),
    ),
    check(ctx, view.dmarcHostname, async () => (await ctx.dns.txt(view.dmarcHostname)).some(dmarcMatches)),
    // The Ed25519 key is checked and shown, but the domain's status rests on the RSA key alone.
    view.dkimEd25519Hostname
      ? check(ctx, view.dkimEd25519Hostname, async () =>
          (await ctx.dns.txt(view.dkimEd25519Hostname!)).some((r) => dkimPublicKeyOf(r) === d.dkim_ed25519_public_key),
        )
      : Promise.resolve(null),
  ]);
  const flag = (found: Check, previous: number) => (found === null ? previous : found ? 1 : 0);
  const spfVerified = flag(spf, d.spf_verified);
  const dkimVerified = flag(dkim, d.dkim_verified);
  const update = {
    spf_verified: spfVerified,
    dkim_verified: dkimVerified,
    cname_verified: flag(cname, d.cname_verified),
    dmarc_verified: flag(dmarc, d.dmarc_verified),
    status: spfVerified && dkimVerified ? 'verified' : 'unverified',
    last_checked_at: ctx.clock(),
    ...(view.dkimEd25519Hostname ? { dkim_ed25519_verified: flag(dkimEd25519, d.dkim_ed25519_verified ?? 0) } : {}),
  };
  await updateDomainVerification(ctx.db, accountId, id, update);
  return domainView({ ...d, ...update }, ctx.config);
}

/** The domain's SPF record merged with ours, within 10 DNS lookups (see spf-suggestion.ts). */
export async function spfSuggestionFor(ctx: Context, accountId: string, id: number): Promise<SpfSuggestion> {
  const d = await findUsableDomain(ctx.db, accountId, id);
  if (!d) throw notFound(`sending domain ${id}`);
  return suggestSpf(ctx, d.domain);
}
