// Webhooks of both surfaces: create, read, change, delete, a test delivery and the delivery log.
// A target must be http(s) and, unless the operator allows it, resolve only to public addresses
// (checked here when it is saved, and again by the sender at every delivery).
import { randomBytes } from 'node:crypto';
import dns from 'node:dns/promises';
import net from 'node:net';
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound, required } from './errors.ts';
import { newId } from '../domain/ids.ts';
import { hasLineBreak } from '../domain/email-address.ts';
import { isPrivateAddress } from '../domain/private-address.ts';
import {
  webhookBody,
  unknownWebhookEvents,
  webhookEventCatalog,
  marketingPayloadEvent,
  transactionalPayloadEvent,
  type WebhookSurface,
} from '../domain/webhook-events.ts';
import { sendWebhook } from '../events/webhook-sender.ts';
import * as store from '../store/webhooks.ts';
import type { WebhookAttemptRow, WebhookRow } from '../store/webhooks.ts';

export const MAX_WEBHOOKS_PER_ACCOUNT = 50;
/** Attempts kept in each webhook's log. */
export const ATTEMPT_LOG_SIZE = 200;

export interface WebhookInput {
  name?: string;
  target?: string;
  events?: string[];
  basicAuth?: { username: string; password?: string } | null;
  secret?: string;
  active?: boolean;
}

export interface WebhookView {
  id: number;
  name: string;
  target: string;
  events: string[];
  basicAuth: { username: string } | null;
  secret: string;
  active: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookAttemptView {
  id: number;
  batchId: string;
  retryCount: number;
  eventCount: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  ok: boolean;
  attemptedAt: number;
}

export interface WebhookTestResult {
  batchId: string;
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

function view(row: WebhookRow): WebhookView {
  return {
    id: row.id,
    name: row.name,
    target: row.target,
    events: JSON.parse(row.events) as string[],
    // The password is never shown again; it is kept as given because every delivery sends it.
    basicAuth: row.auth_user === null ? null : { username: row.auth_user },
    secret: row.secret,
    active: row.active === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function attemptView(a: WebhookAttemptRow): WebhookAttemptView {
  return {
    id: a.id,
    batchId: a.batch_id,
    retryCount: a.retry_count,
    eventCount: a.event_count,
    statusCode: a.status_code,
    latencyMs: a.latency_ms,
    error: a.error,
    ok: a.status_code !== null && a.status_code >= 200 && a.status_code < 300,
    attemptedAt: Number(a.attempted_at),
  };
}

const newSecret = () => `whsec_${randomBytes(24).toString('hex')}`;

/** The target as a URL we may call; 422 naming the field otherwise. */
export async function checkTarget(ctx: Context, raw: string, field: string): Promise<string> {
  const text = raw.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(field, 'must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(field, 'must be an http:// or https:// URL');
  if (url.username || url.password) throw invalid(field, 'must not contain credentials; use basicAuth');
  if (text.length > 2048) throw invalid(field, 'must be at most 2048 characters');
  if (ctx.config.webhooks.allowPrivateTargets) return url.toString();
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.lookup(host, { all: true })).map((a) => a.address);
    } catch {
      throw invalid(field, `host ${host} could not be resolved`);
    }
  }
  const blocked = addresses.find(isPrivateAddress);
  if (blocked)
    throw invalid(
      field,
      `resolves to ${blocked}, a private, loopback or link-local address; such targets are refused unless the ` +
        `operator allows them (POSTHORN_WEBHOOK_ALLOW_PRIVATE)`,
    );
  return url.toString();
}

function checkEvents(surface: WebhookSurface, events: string[] | undefined, field: string): string[] | undefined {
  if (events === undefined) return undefined;
  if (events.length === 0) throw invalid(field, 'must name at least one event');
  const unknown = unknownWebhookEvents(surface, events);
  if (unknown.length)
    throw invalid(
      field,
      `has unknown events: ${unknown.join(', ')}; known: ${webhookEventCatalog(surface)
        .map((e) => e.slug)
        .join(', ')}`,
    );
  return [...new Set(events)];
}

function checkName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  if (name.trim() === '') throw required('name');
  if (hasLineBreak(name)) throw invalid('name', 'must not contain line breaks');
  return name.trim();
}

function checkAuth(
  auth: WebhookInput['basicAuth'],
): { auth_user: string | null; auth_password: string | null } | undefined {
  if (auth === undefined) return undefined;
  if (auth === null) return { auth_user: null, auth_password: null };
  if (auth.username === '' || auth.username.includes(':'))
    throw invalid('basicAuth.username', 'must be a non-empty name without ":"');
  return { auth_user: auth.username, auth_password: auth.password ?? '' };
}

function checkSecret(secret: string | undefined): string | undefined {
  if (secret === undefined) return undefined;
  if (secret.length < 16 || secret.length > 256) throw invalid('secret', 'must be 16 to 256 characters');
  return secret;
}

export async function createWebhook(
  ctx: Context,
  accountId: string,
  surface: WebhookSurface,
  input: WebhookInput,
  targetField = 'target',
): Promise<WebhookView> {
  if (input.target === undefined) throw required(targetField);
  const target = await checkTarget(ctx, input.target, targetField);
  const events = checkEvents(surface, input.events, 'events') ?? webhookEventCatalog(surface).map((e) => e.slug);
  const name = checkName(input.name) ?? new URL(target).host;
  const auth = checkAuth(input.basicAuth) ?? { auth_user: null, auth_password: null };
  const secret = checkSecret(input.secret) ?? newSecret();
  const now = ctx.clock();
  const id = await ctx.db.transaction().execute(async (trx) => {
    const { total } = await store.listWebhooks(trx, accountId, surface, 0, 1);
    if (total >= MAX_WEBHOOKS_PER_ACCOUNT)
      throw new ServiceError(
        'invalid',
        `an account may have at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks on each API`,
        'webhooks',
      );
    return store.insertWebhook(trx, {
      account_id: accountId,
      surface,
      name,
      target,
      events: JSON.stringify(events),
      ...auth,
      secret,
      active: input.active === false ? 0 : 1,
      // A new webhook reports what happens from now on, not the account's history.
      cursor: await store.latestEventId(trx, accountId),
      created_at: now,
      updated_at: now,
    });
  });
  return getWebhook(ctx, accountId, surface, id);
}

export async function getWebhook(
  ctx: Context,
  accountId: string,
  surface: WebhookSurface,
  id: number,
): Promise<WebhookView> {
  const row = await store.findWebhook(ctx.db, accountId, surface, id);
  if (!row) throw notFound('Webhook');
  return view(row);
}

export async function listWebhooks(
  ctx: Context,
  accountId: string,
  surface: WebhookSurface,
  offset: number,
  limit: number,
): Promise<{ total: number; rows: WebhookView[] }> {
  const { total, rows } = await store.listWebhooks(ctx.db, accountId, surface, offset, limit);
  return { total, rows: rows.map(view) };
}

/** Changes only the fields given; `basicAuth: null` removes the credentials. */
export async function updateWebhook(
  ctx: Context,
  accountId: string,
  surface: WebhookSurface,
  id: number,
  input: WebhookInput,
  targetField = 'target',
): Promise<WebhookView> {
  const current = await store.findWebhook(ctx.db, accountId, surface, id);
  if (!current) throw notFound('Webhook');
  const target = input.target === undefined ? undefined : await checkTarget(ctx, input.target, targetField);
  const events = checkEvents(surface, input.events, 'events');
  const name = checkName(input.name);
  const auth = checkAuth(input.basicAuth);
  const secret = checkSecret(input.secret);
  await store.updateWebhook(ctx.db, accountId, surface, id, {
    ...(name !== undefined ? { name } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(events !== undefined ? { events: JSON.stringify(events) } : {}),
    ...(auth ?? {}),
    ...(secret !== undefined ? { secret } : {}),
    ...(input.active !== undefined ? { active: input.active ? 1 : 0 } : {}),
    // An inactive webhook collected nothing: switched on again, it starts from now.
    ...(input.active === true && current.active === 0 ? { cursor: await store.latestEventId(ctx.db, accountId) } : {}),
    updated_at: ctx.clock(),
  });
  return getWebhook(ctx, accountId, surface, id);
}

export async function deleteWebhook(
  ctx: Context,
  accountId: string,
  surface: WebhookSurface,
  id: number,
): Promise<void> {
  const deleted = await ctx.db.transaction().execute((trx) => store.deleteWebhook(trx, accountId, surface, id));
  if (!deleted) throw notFound('Webhook');
}

export async function listWebhookAttempts(
  ctx: Context,
  accountId: string,
  surface: WebhookSurface,
  id: number,
  offset: number,
  limit: number,
): Promise<{ total: number; rows: WebhookAttemptView[] }> {
  if (!(await store.findWebhook(ctx.db, accountId, surface, id))) throw notFound('Webhook');
  const { total, rows } = await store.listAttempts(ctx.db, accountId, id, offset, limit);
  return { total, rows: rows.map(attemptView) };
}

/** A sample event of the surface, shaped exactly as real deliveries are. */
function sampleEvent(surface: WebhookSurface, now: number): Record<string, unknown> {
  const base = {
    id: 0,
    messageId: 'test-message',
    transmissionId: 'test-transmission',
    mailingId: null,
    recipient: 'recipient@example.com',
    createdAt: now,
  };
  return surface === 'transactional'
    ? transactionalPayloadEvent({ ...base, type: 'delivery', data: { test: true } }, { test: 'true' })
    : marketingPayloadEvent({
        ...base,
        type: 'subscriber.created',
        data: { subscriberId: 0, status: 1, statusAddition: null, test: true },
      });
}

/** Sends one signed sample batch now and logs the attempt; the outcome is the answer. */
export async function testWebhook(
  ctx: Context,
  accountId: string,
  surface: WebhookSurface,
  id: number,
): Promise<WebhookTestResult> {
  const row = await store.findWebhook(ctx.db, accountId, surface, id);
  if (!row) throw notFound('Webhook');
  const batchId = `test_${newId()}`;
  const now = ctx.clock();
  const body = webhookBody(batchId, 0, JSON.stringify([sampleEvent(surface, now)]));
  const res = await sendWebhook({
    target: row.target,
    body,
    secret: row.secret,
    authUser: row.auth_user,
    authPassword: row.auth_password,
    allowPrivateTargets: ctx.config.webhooks.allowPrivateTargets,
  });
  await store.logAttempt(
    ctx.db,
    {
      webhook_id: id,
      account_id: accountId,
      batch_id: batchId,
      retry_count: 0,
      event_count: 1,
      status_code: res.statusCode,
      latency_ms: res.latencyMs,
      error: res.error,
      attempted_at: now,
    },
    ATTEMPT_LOG_SIZE,
  );
  return { batchId, ok: res.ok, statusCode: res.statusCode, latencyMs: res.latencyMs, error: res.error };
}
