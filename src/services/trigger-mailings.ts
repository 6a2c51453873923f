// Trigger mailings: a mailing of type "trigger" with a key, sent to one person at a time when the
// caller's system says so (a welcome, an order confirmation). GET /triggerTypes lists the active
// keys; POST /triggerTypes/{key}/send queues one message of the mailing, counted in its statistics.
//
// Decisions where the spec is silent:
// - The key is the mailing's `triggerKey` ([a-z0-9_.-]{1,64}). One key may name one live mailing
//   per language: the trigger's language variants. `mailingId`/`name` in the list are the primary
//   (oldest) variant's; `languages` are the variants' languageIso values.
// - A trigger mailing is active while "sending": POST /mailings/{id}/send activates it (it never
//   fans out to an audience), pause holds it (sends are refused, queued ones wait), resume
//   re-activates it, cancel retires it and frees its key. Drafts are not listed and not sendable.
// - The recipient: a subscriber of the account must be ready (status 1) and, when the mailing has
//   a channel, in that channel; an address that is no subscriber needs the key's "Unknown
//   recipients" permission (404 without it) and sees only `data`, with no unsubscribe link.
//   Blacklisted or suppressed addresses are refused (422) and nothing is queued.
// - Priority 0 (somebody waits for it), and the same subscriber may receive it any number of times.
// - A send is captured (sandbox.ts) when a sandbox key makes it or activated the mailing, and it
//   counts against the sending limits like any message (429 when it would pass one).
import type { Context } from '../context.ts';
import { sampleSubscriber } from './mailing-views.ts';
import { ServiceError, invalid } from './errors.ts';
import type { ApiKeyInfo } from './api-keys.ts';
import { requestHash } from './transmissions.ts';
import { parsePagingParams, type ListQuery, type Page } from './marketing-params.ts';
import { mailingVariables, recipientLinks } from './mailing-audience.ts';
import { checkSendTemplates } from './send-templates-check.ts';
import { mailingTemplates, type RecipientLinks } from '../domain/mailing-content.ts';
import { isValidEmail } from '../domain/email-address.ts';
import { newId } from '../domain/ids.ts';
import {
  ACTIVE_TRIGGER_STATUS,
  chooseVariant,
  isValidTriggerKey,
  primaryVariant,
  triggerVariables,
  variantLanguages,
} from '../domain/trigger-mailings.ts';
import type { MailingRow } from '../store/mailings.ts';
import { subscriberFieldNames } from '../store/mailings.ts';
import type { MessagesTable } from '../store/schema.ts';
import { newOutboxRow } from '../store/messages.ts';
import * as store from '../store/trigger-mailings.ts';
import { subscriberExtras } from '../store/subscriber-groups.ts';
import { findSuppressed } from '../store/suppressions.ts';
import { findBlacklisted } from '../store/blacklist.ts';
import { findIdempotencyKey, saveIdempotencyKey } from '../store/idempotency.ts';
import { checkQuota, reserveQuota } from './quota.ts';
import { isSandboxKey, sandboxFlags } from './sandbox.ts';
import { recordEvents } from '../events/record-events.ts';
import { ensureMaySend } from './account-status.ts';

export interface TriggerType {
  key: string;
  name: string;
  mailingId: number;
  languages: string[];
}

export interface TriggerSendInput {
  email: string;
  language?: string | null;
  data?: Record<string, unknown> | null;
}

const MAX_DATA_BYTES = 64 * 1024;
const IDEMPOTENCY_SCOPE = 'trigger-send';
const NO_LINKS: RecipientLinks = { unsubscribeUrl: '', preferencesUrl: '', webViewUrl: '' };

const triggerNotFound = () => new ServiceError('not_found', 'Trigger type not found');

/** One page of the account's active trigger types, by key (an account has a handful: paged in memory). */
export async function listTriggerTypes(ctx: Context, accountId: string, query: ListQuery): Promise<Page<TriggerType>> {
  const paging = parsePagingParams(query);
  const byKey = new Map<string, MailingRow[]>();
  for (const m of await store.liveTriggerMailings(ctx.db, accountId)) {
    if (m.status !== ACTIVE_TRIGGER_STATUS) continue;
    const list = byKey.get(m.trigger_key!) ?? byKey.set(m.trigger_key!, []).get(m.trigger_key!)!;
    list.push(m);
  }
  const all = [...byKey].map(([key, variants]) => {
    const primary = primaryVariant(variants)!;
    return { key, name: primary.name, mailingId: primary.id, languages: variantLanguages(variants) };
  });
  return { total: all.length, rows: all.slice(paging.offset, paging.offset + paging.limit), paging };
}

/**
 * Before a trigger mailing becomes live (send or resume): it needs a key, and no other live
 * mailing may hold the same key in the same language.
 */
export async function checkTriggerActivation(ctx: Context, m: MailingRow): Promise<void> {
  if (m.type !== 'trigger') return;
  if (!m.trigger_key)
    throw new ServiceError('invalid', 'A trigger mailing needs a triggerKey before it can be activated.', 'triggerKey');
  if (await store.triggerVariantTaken(ctx.db, m.account_id, m.trigger_key, m.language_iso, m.id))
    throw triggerKeyTaken(m);
}

/**
 * The refusal when another live mailing holds the key and language (checked first, or caught from the unique index).
 */
export function triggerKeyTaken(m: Pick<MailingRow, 'trigger_key' | 'language_iso'>): ServiceError {
  return new ServiceError(
    'conflict',
    `Another active or paused trigger mailing already has the triggerKey ` +
      `"${m.trigger_key}"${m.language_iso ? ` in the language ${m.language_iso}` : ' without a language'}; cancel ` +
      `it first.`,
  );
}

/** The live variants of a key that can send now; a clear refusal otherwise. */
async function activeVariants(ctx: Context, accountId: string, key: string): Promise<MailingRow[]> {
  if (!isValidTriggerKey(key)) throw triggerNotFound();
  const live = await store.liveTriggerMailings(ctx.db, accountId, key);
  const active = live.filter((m) => m.status === ACTIVE_TRIGGER_STATUS);
  if (active.length > 0) return active;
  if (live.length > 0)
    throw new ServiceError('conflict', `Trigger type "${key}" is paused; resume its mailing to send it again.`);
  if (await store.triggerKeyKnown(ctx.db, accountId, key))
    throw new ServiceError(
      'conflict',
      `Trigger type "${key}" is not active; activate its mailing with POST /api/v1/mailings/{id}/send.`,
    );
  throw triggerNotFound();
}

function checkInput(input: TriggerSendInput): {
  email: string;
  language: string | null;
  data: Record<string, unknown>;
} {
  const raw = typeof input.email === 'string' ? input.email.trim() : '';
  if (!raw) throw new ServiceError('required', 'The email field is required.', 'email');
  if (!isValidEmail(raw)) throw new ServiceError('invalid_email', 'The email must be a valid email address.', 'email');
  const language = input.language ?? null;
  if (language !== null && !/^[a-z]{2}$/.test(language))
    throw invalid('language', 'must be a two-letter language code such as de or en');
  const data = input.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) throw invalid('data', 'must be an object');
  if (Buffer.byteLength(JSON.stringify(data)) > MAX_DATA_BYTES)
    throw invalid('data', `must be at most ${MAX_DATA_BYTES} bytes as JSON`);
  // Lower-cased whole, as the marketing surface stores subscribers, suppressions and the blacklist.
  return { email: raw.toLowerCase(), language, data };
}

/** The mailing must render for this send's variables, within the accept-time budget (else 422). */
function renderCheck(ctx: Context, m: MailingRow, variables: Record<string, unknown>): Promise<void> {
  return checkSendTemplates(ctx, {
    templates: mailingTemplates(m),
    shared: variables,
    own: [undefined],
    recipientField: () => 'data',
  });
}

/** Whom the send goes to, which variant, and what its templates see. Refuses before anything is queued. */
async function prepareSend(
  ctx: Context,
  key: ApiKeyInfo,
  variants: MailingRow[],
  email: string,
  language: string | null,
  data: Record<string, unknown>,
) {
  const accountId = key.accountId;
  const subscriber = await store.findTriggerRecipient(ctx.db, accountId, email);
  if (!subscriber && !key.permissions.includes('unknown_recipients')) {
    throw new ServiceError(
      'not_found',
      `Subscriber not found; sending a trigger mailing to an address that is not a subscriber needs the "Unknown ` +
        `recipients" permission.`,
    );
  }
  const [blacklisted, suppressed] = await Promise.all([
    findBlacklisted(ctx.db, accountId, [email]),
    findSuppressed(ctx.db, accountId, [email]),
  ]);
  if (blacklisted.has(email)) throw invalid('email', "is on the account's blacklist; nothing was sent");
  if (suppressed.has(email))
    throw invalid('email', `is on the suppression list (${suppressed.get(email)}); nothing was sent`);
  if (subscriber && subscriber.status !== 1)
    throw invalid(
      'email',
      `is a subscriber who is not ready to receive mail (status ${subscriber.status}); nothing was sent`,
    );

  const mailing = chooseVariant(variants, language, subscriber?.language_iso ?? null)!;
  if (
    subscriber &&
    mailing.channel_id !== null &&
    !(await store.isInChannel(ctx.db, subscriber.id, mailing.channel_id))
  ) {
    throw invalid('email', 'is a subscriber who is not in the channel of this trigger mailing; nothing was sent');
  }

  let base: Record<string, unknown>;
  if (subscriber) {
    const [extras, names] = await Promise.all([
      subscriberExtras(ctx.db, accountId, [subscriber.id]),
      subscriberFieldNames(ctx.db, accountId),
    ]);
    base = mailingVariables(
      ctx,
      mailing,
      subscriber,
      extras.fieldValues.get(subscriber.id),
      names,
      recipientLinks(ctx, mailing, subscriber.id),
    );
  } else {
    // Somebody who is not on the list: the address and the caller's data, no personal links.
    const nobody = sampleSubscriber(email);
    base = { ...mailingVariables(ctx, mailing, nobody, undefined, new Map(), NO_LINKS), subscriberId: null };
  }
  const variables = triggerVariables(base, data);
  await renderCheck(ctx, mailing, variables);
  return { mailing, subscriber, variables };
}

export interface TriggerSendResult {
  messageId: string;
  mailingId: number;
  replayed: boolean;
}

/** Queues one message of the key's mailing to `email` (idempotent per Idempotency-Key). */
export async function sendTrigger(
  ctx: Context,
  key: ApiKeyInfo,
  triggerKey: string,
  input: TriggerSendInput,
  idempotencyKey?: string,
): Promise<TriggerSendResult> {
  ensureMaySend(key.accountStatus);
  const accountId = key.accountId;
  const variants = await activeVariants(ctx, accountId, triggerKey);
  const { email, language, data } = checkInput(input);

  const now = ctx.clock();
  const idemSince = now - ctx.config.idempotencyTtlSeconds * 1000;
  const idemKey = idempotencyKey ? `${triggerKey}:${idempotencyKey}` : null;
  const hash = idemKey ? requestHash({ email, language, data }) : '';
  if (idemKey) {
    const previous = await findIdempotencyKey(ctx.db, accountId, IDEMPOTENCY_SCOPE, idemKey, idemSince);
    if (previous) return replay(previous.request_hash, hash, previous.response_body);
  }

  const { mailing, subscriber, variables } = await prepareSend(ctx, key, variants, email, language, data);
  const name = subscriber
    ? [subscriber.firstname, subscriber.lastname]
        .filter(Boolean)
        .join(' ')
        .replace(/[\r\n]+/g, ' ')
        .trim()
    : '';
  // Captured when a sandbox key triggers it or activated the mailing (see sandbox.ts).
  const sandbox = isSandboxKey(key) || mailing.sandbox === 1;
  const sandboxFlag = await sandboxFlags(ctx, accountId, sandbox, [email]);
  const use = { messages: 1, sandbox: sandbox ? 1 : 0 };
  await checkQuota(ctx, ctx.db, accountId, use, now);
  const message: MessagesTable = newOutboxRow({
    id: newId(),
    account_id: accountId,
    mailing_id: String(mailing.id),
    subscriber_id: subscriber?.id ?? null,
    recipient: email,
    recipient_name: name || null,
    recipient_data: JSON.stringify({ substitutionData: variables }),
    priority: 0, // someone's action is waiting for it
    sandbox: sandboxFlag(email),
    now,
  });
  const response = JSON.stringify({ messageId: message.id, mailingId: mailing.id });
  const committed = await ctx.db.transaction().execute(async (trx) => {
    if (idemKey) {
      const row = {
        account_id: accountId,
        scope: IDEMPOTENCY_SCOPE,
        key: idemKey,
        request_hash: hash,
        response_status: 201,
        response_body: response,
        created_at: now,
      };
      if (!(await saveIdempotencyKey(trx, row, idemSince))) return false;
    }
    await reserveQuota(ctx, trx, accountId, use, now);
    await store.insertTriggerMessage(trx, message, mailing.id);
    await recordEvents(trx, [
      {
        account_id: accountId,
        type: 'injection',
        message_id: message.id,
        transmission_id: null,
        mailing_id: message.mailing_id,
        recipient: email,
        data: JSON.stringify({ subscriberId: message.subscriber_id, triggerKey }),
        created_at: now,
      },
    ]);
    return true;
  });
  if (!committed && idemKey) {
    // A concurrent request with the same key won: answer as it did.
    const previous = await findIdempotencyKey(ctx.db, accountId, IDEMPOTENCY_SCOPE, idemKey, idemSince);
    if (!previous) throw new Error('idempotency key vanished between insert and read');
    return replay(previous.request_hash, hash, previous.response_body);
  }
  return { messageId: message.id, mailingId: mailing.id, replayed: false };
}

function replay(storedHash: string, hash: string, body: string): TriggerSendResult {
  if (storedHash !== hash)
    throw new ServiceError('conflict', 'Idempotency-Key was already used with a different request body');
  const { messageId, mailingId } = JSON.parse(body) as { messageId: string; mailingId: number };
  return { messageId, mailingId, replayed: true };
}
