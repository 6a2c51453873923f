// Creating API keys and checking the ones presented with a request.
import ipaddr from 'ipaddr.js';
import type { Context } from './context.ts';
import { generateApiKey, hashSecret, parseApiKey, secretMatches } from '../domain/api-key-format.ts';
import { ALL_PERMISSIONS, resolvePermission, type PermissionId } from '../domain/permissions.ts';
import { findApiKey, findSmtpIpAuthKeys, insertApiKey, touchApiKey, type ApiKeyRow } from '../store/api-keys.ts';
import { invalid } from './errors.ts';

export interface ApiKeyInfo {
  id: string;
  accountId: string;
  name: string;
  permissions: PermissionId[];
  allowedIps: string[];
  environment: 'production' | 'sandbox';
  /** Authenticates SMTP connections from its allowed IPs without AUTH. */
  smtpIpAuth: boolean;
}

export interface CreateKeyInput {
  accountId: string;
  name: string;
  permissions?: string[]; // ids or names; default: all
  allowedIps?: string[];
  environment?: 'production' | 'sandbox';
  /** See ApiKeyInfo.smtpIpAuth; needs the send_smtp permission and allowed IPs that are not "anywhere". */
  smtpIpAuth?: boolean;
}

export async function createApiKey(ctx: Context, input: CreateKeyInput): Promise<{ key: string; info: ApiKeyInfo }> {
  // Ids and names may both be given for one permission; it is held once.
  const permissions = [
    ...new Set(
      (input.permissions ?? ALL_PERMISSIONS).map((p) => {
        const id = resolvePermission(p);
        if (!id) throw invalid('permissions', `contains an unknown permission "${p}"`);
        return id;
      }),
    ),
  ];
  const allowedIps = (input.allowedIps ?? []).map((ip) => {
    if (!isIpOrCidr(ip)) throw invalid('allowedIp', `"${ip}" is not an IP address or CIDR range`);
    return ip;
  });
  const environment = input.environment ?? 'production';
  const smtpIpAuth = input.smtpIpAuth ?? false;
  if (smtpIpAuth) checkSmtpIpAuth(permissions, allowedIps);
  const { id, secret, key } = generateApiKey();
  await insertApiKey(ctx.db, {
    id,
    account_id: input.accountId,
    name: input.name,
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
    info: { id, accountId: input.accountId, name: input.name, permissions, allowedIps, environment, smtpIpAuth },
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
// API call a database write.
const TOUCH_INTERVAL_MS = 60_000;
const lastTouched = new Map<string, number>();

export async function authenticate(ctx: Context, rawKey: string | null, ip: string): Promise<AuthResult> {
  if (!rawKey) return { ok: false, reason: 'missing' };
  const parsed = parseApiKey(rawKey);
  if (!parsed) return { ok: false, reason: 'invalid' };
  const row = await findApiKey(ctx.db, parsed.id);
  // Compare even when the key is unknown, so timing does not tell which ids exist.
  const matches = secretMatches(parsed.secret, row?.secret_hash ?? '0'.repeat(64));
  if (!row || !matches || row.revoked_at !== null) return { ok: false, reason: 'invalid' };
  const allowedIps = JSON.parse(row.allowed_ips) as string[];
  if (!ipAllowed(ip, allowedIps)) return { ok: false, reason: 'ip_not_allowed' };
  await touch(ctx, row.id);
  return { ok: true, key: toInfo(row) };
}

async function touch(ctx: Context, id: string): Promise<void> {
  const now = ctx.clock();
  if ((lastTouched.get(id) ?? 0) + TOUCH_INTERVAL_MS < now) {
    lastTouched.set(id, now);
    await touchApiKey(ctx.db, id, now);
  }
}

function toInfo(row: ApiKeyRow): ApiKeyInfo {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    permissions: JSON.parse(row.permissions) as PermissionId[],
    allowedIps: JSON.parse(row.allowed_ips) as string[],
    environment: row.environment as ApiKeyInfo['environment'],
    smtpIpAuth: row.smtp_ip_auth === 1,
  };
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
  return toInfo(best.row);
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
