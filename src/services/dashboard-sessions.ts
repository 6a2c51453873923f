// Signing in to the dashboard and recognising its sessions. A session acts with the permissions of
// what signed in: an API key (checked again on every request, so revoking the key ends its
// sessions) or a dashboard user (every permission of the user's account). Tokens are random
// 256-bit values kept as SHA-256 hashes; the CSRF token is a second random value the SPA sends in
// a header on every request, which a cross-site form or link cannot.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from '../context.ts';
import { authenticate, ipAllowed, keyInfoOf, type ApiKeyInfo, type AuthResult } from './api-keys.ts';
import { limitsFor } from './limits.ts';
import { ServiceError, invalid, notFound, required } from './errors.ts';
import { newId } from '../domain/ids.ts';
import { hashPassword, passwordMatches, UNKNOWN_USER_HASH } from '../domain/password-hash.ts';
import { isValidEmail } from '../domain/email-address.ts';
import { ALL_PERMISSIONS } from '../domain/permissions.ts';
import { asAccountStatus } from '../domain/account-status.ts';
import { findApiKey } from '../store/api-keys.ts';
import { findAccount } from '../store/accounts.ts';
import {
  deleteDashboardSession,
  deleteExpiredSessions,
  deleteSessionsOfPrincipal,
  findDashboardSession,
  findDashboardUser,
  findDashboardUserByEmail,
  insertDashboardSession,
  insertDashboardUser,
  insertSignInLink,
  takeSignInLink,
  type DashboardSessionRow,
} from '../store/dashboard.ts';

export const SESSION_LIFETIME_MS = 7 * 24 * 3600 * 1000;
export const SIGN_IN_LINK_LIFETIME_MS = 24 * 3600 * 1000;
const MIN_PASSWORD_LENGTH = 10;

/** Failed sign-ins count on a lock of their own ("dashboard"), apart from the API and SMTP ones. */

/** Users sign in by email whatever its case. */
const userEmail = (email: string) => email.trim().toLowerCase();
const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');
const randomToken = () => randomBytes(32).toString('base64url');

export type SignInCredentials = { apiKey: string } | { email: string; password: string } | { token: string };

export interface SignedIn {
  /** The cookie value: shown once, stored only hashed. */
  sessionToken: string;
  csrfToken: string;
  expiresAt: number;
}

export type SignInResult =
  { ok: true; session: SignedIn } | { ok: false; reason: 'invalid' | 'locked'; retryAfterMs?: number };

/** A one-time link that signs the holder in with this key (printed at first start). */
export async function createSignInLink(ctx: Context, apiKeyId: string): Promise<string> {
  const token = randomToken();
  const now = ctx.clock();
  await insertSignInLink(ctx.db, {
    token_hash: sha256(token),
    api_key_id: apiKeyId,
    created_at: now,
    expires_at: now + SIGN_IN_LINK_LIFETIME_MS,
  });
  return token;
}

export async function signIn(ctx: Context, credentials: SignInCredentials, ip: string): Promise<SignInResult> {
  const limits = limitsFor(ctx);
  const retryAfterMs = await limits.lockRemaining('dashboard', ip);
  if (retryAfterMs > 0) return { ok: false, reason: 'locked', retryAfterMs };
  const principal = await principalOf(ctx, credentials, ip);
  if (!principal) {
    await limits.recordAuthFailure('dashboard', ip);
    return { ok: false, reason: 'invalid' };
  }
  const sessionToken = randomToken();
  const csrfToken = randomToken();
  const now = ctx.clock();
  await deleteExpiredSessions(ctx.db, now);
  await insertDashboardSession(ctx.db, {
    token_hash: sha256(sessionToken),
    account_id: principal.accountId,
    api_key_id: principal.apiKeyId,
    user_id: principal.userId,
    csrf_token: csrfToken,
    created_at: now,
    expires_at: now + SESSION_LIFETIME_MS,
  });
  return { ok: true, session: { sessionToken, csrfToken, expiresAt: now + SESSION_LIFETIME_MS } };
}

interface Principal {
  accountId: string;
  apiKeyId: string | null;
  userId: string | null;
}

async function principalOf(ctx: Context, credentials: SignInCredentials, ip: string): Promise<Principal | null> {
  if ('apiKey' in credentials) {
    const result = await authenticate(ctx, credentials.apiKey, ip);
    return result.ok ? { accountId: result.key.accountId, apiKeyId: result.key.id, userId: null } : null;
  }
  if ('token' in credentials) {
    const link = await takeSignInLink(ctx.db, sha256(credentials.token));
    if (!link || link.expires_at < ctx.clock()) return null;
    const key = await liveKey(ctx, link.api_key_id, ip);
    return key ? { accountId: key.accountId, apiKeyId: key.id, userId: null } : null;
  }
  const user = await findDashboardUserByEmail(ctx.db, userEmail(credentials.email));
  // Hash even for an unknown email, so the answer's timing does not tell which addresses exist.
  const matches = await passwordMatches(credentials.password, user?.password_hash ?? UNKNOWN_USER_HASH);
  if (!user || !matches) return null;
  const account = await findAccount(ctx.db, user.account_id);
  if (!account || account.status === 'Terminated') return null;
  return { accountId: user.account_id, apiKeyId: null, userId: user.id };
}

/** The key behind a session, as it is now: revoked, terminated or out of its allowed IPs is none. */
async function liveKey(ctx: Context, apiKeyId: string, ip: string): Promise<ApiKeyInfo | null> {
  const row = await findApiKey(ctx.db, apiKeyId);
  if (!row || row.revoked_at !== null || row.account_status === 'Terminated') return null;
  const info = keyInfoOf(row);
  return ipAllowed(ip, info.allowedIps) ? info : null;
}

/** What a dashboard user acts as: every permission of its account, under a key id no key can have. */
async function userAsKey(ctx: Context, userId: string): Promise<ApiKeyInfo | null> {
  const user = await findDashboardUser(ctx.db, userId);
  if (!user) return null;
  const account = await findAccount(ctx.db, user.account_id);
  if (!account || account.status === 'Terminated') return null;
  return {
    id: `user:${user.id}`,
    intId: 0,
    accountId: account.id,
    accountIntId: account.int_id,
    accountStatus: asAccountStatus(account.status),
    name: user.email,
    permissions: [...ALL_PERMISSIONS],
    allowedIps: [],
    environment: 'production',
    smtpIpAuth: false,
  };
}

async function liveSession(ctx: Context, sessionToken: string): Promise<DashboardSessionRow | null> {
  const session = await findDashboardSession(ctx.db, sha256(sessionToken));
  return session && session.expires_at > ctx.clock() ? session : null;
}

function csrfMatches(session: DashboardSessionRow, csrfHeader: string | undefined): boolean {
  if (!csrfHeader) return false;
  const a = Buffer.from(session.csrf_token);
  const b = Buffer.from(csrfHeader);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * An API request authenticated by the session cookie: valid only with the session's CSRF token in
 * its header (whatever the method, so a cross-site request can do nothing with the cookie).
 */
export async function authenticateSession(
  ctx: Context,
  sessionToken: string,
  csrfHeader: string | undefined,
  ip: string,
): Promise<AuthResult> {
  const session = await liveSession(ctx, sessionToken);
  if (!session || !csrfMatches(session, csrfHeader)) return { ok: false, reason: 'invalid' };
  const key =
    session.user_id !== null ? await userAsKey(ctx, session.user_id) : await liveKey(ctx, session.api_key_id!, ip);
  return key ? { ok: true, key } : { ok: false, reason: 'invalid' };
}

export interface SessionView {
  csrfToken: string;
  expiresAt: number;
  /** 'key' or 'user', and its name (the key's name or the user's email). */
  signedInWith: 'key' | 'user';
  name: string;
  accountId: number;
  permissions: string[];
}

/** The session for the SPA (its CSRF token and who it is); null when it is not (any more) valid. */
export async function describeSession(ctx: Context, sessionToken: string, ip: string): Promise<SessionView | null> {
  const session = await liveSession(ctx, sessionToken);
  if (!session) return null;
  const key =
    session.user_id !== null ? await userAsKey(ctx, session.user_id) : await liveKey(ctx, session.api_key_id!, ip);
  if (!key) return null;
  return {
    csrfToken: session.csrf_token,
    expiresAt: session.expires_at,
    signedInWith: session.user_id !== null ? 'user' : 'key',
    name: key.name,
    accountId: key.accountIntId,
    permissions: key.permissions,
  };
}

/** Ends this session, or (everywhere) every session of the same key or user. Needs the CSRF token. */
export async function signOut(
  ctx: Context,
  sessionToken: string,
  csrfHeader: string | undefined,
  everywhere: boolean,
): Promise<boolean> {
  const session = await liveSession(ctx, sessionToken);
  if (!session || !csrfMatches(session, csrfHeader)) return false;
  if (everywhere) await deleteSessionsOfPrincipal(ctx.db, session);
  else await deleteDashboardSession(ctx.db, session.token_hash);
  return true;
}

/** `posthorn users create`: a dashboard user of an account. */
export async function createDashboardUser(
  ctx: Context,
  input: { accountId: string; email: string; password: string },
): Promise<{ id: string; email: string }> {
  const email = userEmail(input.email ?? '');
  if (!email) throw required('email');
  if (!isValidEmail(email)) throw invalid('email', 'is not a valid email address');
  if (!input.password) throw required('password');
  if (input.password.length < MIN_PASSWORD_LENGTH)
    throw invalid('password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  const account = await findAccount(ctx.db, input.accountId);
  if (!account) throw notFound(`account ${input.accountId}`);
  if (await findDashboardUserByEmail(ctx.db, email))
    throw new ServiceError('conflict', `a dashboard user ${email} already exists`);
  const id = newId();
  await insertDashboardUser(ctx.db, {
    id,
    account_id: account.id,
    email,
    password_hash: await hashPassword(input.password),
    created_at: ctx.clock(),
  });
  return { id, email };
}
