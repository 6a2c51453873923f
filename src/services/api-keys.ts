// Creating API keys and checking the ones presented with a request. Every check reads the key from
// the store (no cache), so a revoked key, a changed allow-list or a terminated account takes effect
// on the next request on every node and on every surface (HTTP and SMTP alike).
import ipaddr from 'ipaddr.js';
import type { Context } from '../context.ts';
import { generateApiKey, hashSecret, parseApiKey, secretMatches } from '../domain/api-key-format.ts';
import { ALL_PERMISSIONS, canonicalPermissions, resolvePermission, type PermissionId } from '../domain/permissions.ts';
import { asAccountStatus, type AccountStatus } from '../domain/account-status.ts';
import { hasLineBreak } from '../domain/email-address.ts';
import { findApiKey, findSmtpIpAuthKeys, insertApiKey, touchApiKey, type ApiKeyRow } from '../store/api-keys.ts';
import { findAccount } from '../store/accounts.ts';
import type { Database } from '../store/schema.ts';
import type { Kysely, Transaction } from 'kysely';
import { ServiceError, invalid, notFound, required } from './errors.ts';

export type Environment = 'production' | 'sandbox';

export interface ApiKeyInfo {
  /** The public id inside the key string (8 alphanumerics). */
  id: string;
  /** The contract's integer id of the key. */
  intId: number;
  /**
   * The account the request acts on: the key's own, or — when a parent's key sends X-MT-ATTR —
   * the sub-account it names (src/http/auth.ts). Every query of a request is scoped to it.
   */
  accountId: string;
  accountIntId: number;
  accountStatus: AccountStatus;
  name: string;
  permissions: PermissionId[];
  allowedIps: string[];
  environment: Environment;
  /** Authenticates SMTP connections from its allowed IPs without AUTH. */
  smtpIpAuth: boolean;
}

export interface CreateKeyInput {
  accountId: string;
  name: string;
  permissions?: Array<string | number>; // ids, names or the contract's numbers; default: all
  allowedIps?: string[];
  environment?: Environment;
  /** See ApiKeyInfo.smtpIpAuth; needs the send_smtp permission and allowed IPs that are not "anywhere". */
  smtpIpAuth?: boolean;
}

/** Permissions given by id, name or number, each once, in catalogue order; 422 for an unknown one. */
export function resolvePermissions(values: ReadonlyArray<string | number>, field = 'permissions'): PermissionId[] {
  return canonicalPermissions(
    values.map((p) => {
      const id = resolvePermission(p);
      if (!id) throw invalid(field, `contains an unknown permission ${JSON.stringify(p)}`);
      return id;
    }),
  );
}

/** IPs and CIDR ranges, checked; 422 naming the first one that is neither. */
export function checkAllowedIps(values: readonly string[], field = 'allowedIp'): string[] {
  return values.map((ip) => {
    if (!isIpOrCidr(ip)) throw invalid(field, `"${ip}" is not an IP address or CIDR range`);
    return ip;
  });
}

/** A name (of a key or an account): required, one line, at most 255 characters. */
export function checkName(name: string | undefined, field = 'name'): string {
  const trimmed = name?.trim() ?? '';
  if (!trimmed) throw required(field);
  if (trimmed.length > 255) throw invalid(field, 'must be at most 255 characters');
  if (hasLineBreak(trimmed)) throw invalid(field, 'must not contain line breaks');
  return trimmed;
}

export async function createApiKey(
  ctx: Context,
  input: CreateKeyInput,
  db: Kysely<Database> | Transaction<Database> = ctx.db,
): Promise<{ key: string; info: ApiKeyInfo }> {
  const permissions = resolvePermissions(input.permissions ?? ALL_PERMISSIONS);
  const allowedIps = checkAllowedIps(input.allowedIps ?? []);
  const name = checkName(input.name);
  const environment = input.environment ?? 'production';
  const smtpIpAuth = input.smtpIpAuth ?? false;
  if (smtpIpAuth) checkSmtpIpAuth(permissions, allowedIps);
  const account = await findAccount(db, input.accountId);
  if (!account) throw notFound(`account ${input.accountId}`);
  if (account.status === 'Terminated')
    throw new ServiceError('forbidden', `account ${account.int_id} is terminated; it can have no new keys`);
  const { id, secret, key } = generateApiKey();
  const intId = await insertApiKey(db, {
    id,
    account_id: input.accountId,
    name,
    secret_hash: hashSecret(secret),
    permissions: JSON.stringify(permissions),
    allowed_ips: JSON.stringify(allowedIps),
    environment,
    created_at: ctx.clock(),
    last_used_at: null,
    revoked_at: null,
    smtp_ip_auth: smtpIpAuth ? 1 : 0,
  });
  return {
    key,
    info: {
      id,
      intId,
      accountId: input.accountId,
      accountIntId: account.int_id,
      accountStatus: asAccountStatus(account.status),
      name,
      permissions,
      allowedIps,
      environment,
      smtpIpAuth,
    },
  };
}

/** A key that authenticates by address must be bound to some addresses, and be meant for SMTP. */
function checkSmtpIpAuth(permissions: PermissionId[], allowedIps: string[]): void {
  if (!permissions.includes('send_smtp'))
    throw invalid('smtpIpAuth', 'needs the "Send via SMTP" permission (send_smtp)');
  if (allowedIps.length === 0) throw invalid('smtpIpAuth', 'needs allowed IPs: the addresses it authenticates');
  if (allowedIps.some((ip) => ip.includes('/') && ipaddr.parseCIDR(ip)[1] === 0))
    throw invalid('smtpIpAuth', 'cannot authenticate every address (a /0 range)');
}

function isIpOrCidr(value: string): boolean {
  try {
    if (value.includes('/')) ipaddr.parseCIDR(value);
    else ipaddr.parse(value);
    return true;
  } catch {
    return false;
  }
}

export function ipAllowed(ip: string, allowed: string[]): boolean {
  if (allowed.length === 0) return true;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return false;
  }
  return allowed.some((entry) => {
    try {
      if (!entry.includes('/')) return ipaddr.process(entry).toString() === addr.toString();
      const [range, bits] = ipaddr.parseCIDR(entry);
      return addr.kind() === range.kind() && addr.match([range, bits] as [typeof addr, number]);
    } catch {
      return false;
    }
  });
}

export type AuthResult =
  { ok: true; key: ApiKeyInfo } | { ok: false; reason: 'missing' | 'invalid' | 'ip_not_allowed' };

// lastUsedAt is written at most once a minute per key: one write per request would make every
// API call a database write. (Only this timestamp is remembered per process; nothing about whether
// a key is valid is.)
const TOUCH_INTERVAL_MS = 60_000;
const lastTouched = new Map<string, number>();

export function keyInfoOf(row: ApiKeyRow): ApiKeyInfo {
  return {
    id: row.id,
    intId: row.int_id,
    accountId: row.account_id,
    accountIntId: row.account_int_id,
    accountStatus: asAccountStatus(row.account_status),
    name: row.name,
    permissions: JSON.parse(row.permissions) as PermissionId[],
    allowedIps: JSON.parse(row.allowed_ips) as string[],
    environment: row.environment as Environment,
    smtpIpAuth: Number(row.smtp_ip_auth) === 1,
  };
}

export async function authenticate(ctx: Context, rawKey: string | null, ip: string): Promise<AuthResult> {
  if (!rawKey) return { ok: false, reason: 'missing' };
  const parsed = parseApiKey(rawKey);
  if (!parsed) return { ok: false, reason: 'invalid' };
  const row = await findApiKey(ctx.db, parsed.id);
  // Compare even when the key is unknown, so timing does not tell which ids exist.
  const matches = secretMatches(parsed.secret, row?.secret_hash ?? '0'.repeat(64));
  // A terminated account's keys stop working with it, even if one escaped revocation.
  if (!row || !matches || row.revoked_at !== null || row.account_status === 'Terminated')
    return { ok: false, reason: 'invalid' };
  const info = keyInfoOf(row);
  if (!ipAllowed(ip, info.allowedIps)) return { ok: false, reason: 'ip_not_allowed' };
  await touch(ctx, row.id);
  return { ok: true, key: info };
}

async function touch(ctx: Context, id: string): Promise<void> {
  const now = ctx.clock();
  if ((lastTouched.get(id) ?? 0) + TOUCH_INTERVAL_MS < now) {
    lastTouched.set(id, now);
    await touchApiKey(ctx.db, id, now);
  }
}

/**
 * The SMTP-IP key for a client address, or null: of the live keys marked smtpIpAuth whose allowed
 * IPs contain the address, the one with the narrowest matching range (the oldest on a tie). Read
 * from the database on every call, so a revocation takes effect at once.
 */
export async function authenticateByAddress(ctx: Context, ip: string): Promise<ApiKeyInfo | null> {
  let best: { row: ApiKeyRow; bits: number } | null = null;
  for (const row of await findSmtpIpAuthKeys(ctx.db)) {
    const bits = narrowestMatch(ip, JSON.parse(row.allowed_ips) as string[]);
    if (bits !== null && (best === null || bits > best.bits)) best = { row, bits };
  }
  if (!best) return null;
  await touch(ctx, best.row.id);
  return keyInfoOf(best.row);
}

/** The prefix length of the narrowest entry containing ip (128/32 for a single address); null when none does. */
function narrowestMatch(ip: string, allowed: string[]): number | null {
  let bits: number | null = null;
  for (const entry of allowed) {
    if (!ipAllowed(ip, [entry])) continue;
    const size = entry.includes('/') ? ipaddr.parseCIDR(entry)[1] : 128;
    bits = Math.max(bits ?? 0, size);
  }
  return bits;
}
