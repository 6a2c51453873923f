// Render → track → compose → sign for one outbox row, from its source's spec (build-protocol.ts).
// No store and no clock of its own: it runs in the build threads (build-thread.ts), and the specs
// are made on the event loop from the database (build-message.ts, mailing-source.ts).
import type { MessagesTable } from '../store/schema.ts';
import { compileMessage, renderMessage, type CompiledMessage, type RenderLimits } from '../domain/render.ts';
import type { RecipientData, TransmissionContent } from '../domain/transmission-content.ts';
import { domainOf } from '../domain/email-address.ts';
import { applyTracking } from '../domain/tracking-html.ts';
import { mailingFeedbackId, recipientVariables, signedRecipientLinks } from '../domain/mailing-content.ts';
import { parseJson } from '../store/json.ts';
import { composeMessage } from './composer.ts';
import { createSigner, type Signer } from './dkim.ts';
import type { BuiltMessage, MailingSpec, SourceSpec, ThreadInit, TransmissionSpec } from './build-protocol.ts';

/** A spec made ready to build from: templates compiled (or why they do not compile), keys parsed. */
export interface PreparedSource {
  spec: SourceSpec;
  compiled: CompiledMessage | Error;
  signer: Signer | null;
  fieldNames: Map<number, string[]>;
}

export function prepareSource(spec: SourceSpec, limits: RenderLimits): PreparedSource {
  let compiled: CompiledMessage | Error;
  try {
    compiled = compileMessage(spec.kind === 'mailing' ? spec.templates : spec.content, limits);
  } catch (error) {
    compiled = error as Error;
  }
  return {
    spec,
    compiled,
    signer: spec.dkimKeys.length ? createSigner(spec.dkimKeys) : null,
    fieldNames: new Map(spec.kind === 'mailing' ? spec.fieldNames : []),
  };
}

export function buildFromSpec(
  source: PreparedSource,
  m: MessagesTable,
  env: ThreadInit,
  now: number,
): Promise<BuiltMessage> {
  return source.spec.kind === 'mailing'
    ? buildMailingMessage(source, source.spec, m, env, now)
    : buildTransmissionMessage(source, source.spec, m, env);
}

function compiledOf(source: PreparedSource): CompiledMessage {
  if (source.compiled instanceof Error) throw source.compiled;
  return source.compiled;
}

async function buildTransmissionMessage(
  source: PreparedSource,
  spec: TransmissionSpec,
  m: MessagesTable,
  env: ThreadInit,
): Promise<BuiltMessage> {
  const { content } = spec;
  const fromDomain = domainOf(content.from.email);
  const own = parseJson<RecipientData>(m.recipient_data, {});
  const data = { ...content.substitutionData, ...(own.substitutionData ?? {}) };
  const rendered = renderMessage(compiledOf(source), data, env.limits);
  const tracking = env.tracking;
  if (rendered.html && tracking && (content.options.openTracking || content.options.clickTracking)) {
    rendered.html = applyTracking(rendered.html, {
      ...tracking,
      messageId: m.id,
      accountId: m.account_id,
      open: content.options.openTracking,
      click: content.options.clickTracking,
    });
  }
  const messageIdHeader = `${m.id}@${fromDomain}`;
  const to =
    m.recipient_type === 'to'
      ? [{ email: m.recipient, ...(m.recipient_name ? { name: m.recipient_name } : {}) }]
      : content.to;
  const extraHeaders = content.headers.some((h) => h.name.toLowerCase() === 'feedback-id')
    ? []
    : [{ name: 'Feedback-ID', value: feedbackId(m, content) }];
  let raw = await composeMessage({ content, rendered, to, messageId: messageIdHeader, date: new Date(), extraHeaders });
  if (source.signer) raw = await source.signer(raw);
  return {
    raw,
    envelopeFrom: `bounces+${m.id}@${spec.returnPathDomain}`,
    messageIdHeader,
    firstDueAt: Math.max(m.created_at, spec.dueAt),
  };
}

/**
 * `campaign:account:type:posthorn`, the shape mailbox providers' feedback loops aggregate by
 * (Gmail's Feedback-ID); the transmission stands in for a missing campaign. A sender's own
 * Feedback-ID header is kept instead.
 */
function feedbackId(m: MessagesTable, content: TransmissionContent): string {
  const campaign = (content.campaignId ?? '').replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64) || m.transmission_id;
  return `${campaign}:${m.account_id}:${content.options.transactional ? 'transactional' : 'bulk'}:posthorn`;
}

/** The template variables: made from the stored recipient (fan-out), or stored whole (trigger sends, older rows). */
function mailingVariables(
  source: PreparedSource,
  spec: MailingSpec,
  m: MessagesTable,
  env: ThreadInit,
  now: number,
): Record<string, unknown> {
  const stored = parseJson<RecipientData>(m.recipient_data, {});
  const recipient = stored.mailingRecipient;
  if (!recipient) return stored.substitutionData ?? {};
  const links = env.tracking
    ? signedRecipientLinks(env.tracking, now, spec.mailing, recipient.s.id, spec.wantedLinks)
    : { unsubscribeUrl: '', preferencesUrl: '', webViewUrl: '' };
  return recipientVariables(recipient.s, new Map(recipient.f), source.fieldNames, links, spec.mailingVariables);
}

async function buildMailingMessage(
  source: PreparedSource,
  spec: MailingSpec,
  m: MessagesTable,
  env: ThreadInit,
  now: number,
): Promise<BuiltMessage> {
  const data = mailingVariables(source, spec, m, env, now);
  const rendered = renderMessage(compiledOf(source), data, env.limits);
  const { openTracking, clickTracking } = spec.content.options;
  if (rendered.html && env.tracking && (openTracking || clickTracking)) {
    // After rendering, so personalized links are tracked too; unsubscribe/preferences/web-view
    // links (under PUBLIC_URL/p/) are left alone by applyTracking.
    rendered.html = applyTracking(rendered.html, {
      ...env.tracking,
      messageId: m.id,
      accountId: m.account_id,
      open: openTracking,
      click: clickTracking,
    });
  }
  const fromDomain = domainOf(spec.content.from.email);
  const messageIdHeader = `${m.id}@${fromDomain}`;
  const unsubscribeUrl = typeof data.unsubscribeUrl === 'string' ? data.unsubscribeUrl : null;
  const extraHeaders = [
    { name: 'List-Id', value: spec.listId },
    ...(unsubscribeUrl
      ? [
          {
            name: 'List-Unsubscribe',
            value: `<${unsubscribeUrl}>, <mailto:unsubscribe+${m.id}@${spec.returnPathDomain}?subject=unsubscribe>`,
          },
          { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
        ]
      : []),
    // A trigger mailing's message answers one person's action: not bulk mail.
    ...(spec.mailing.type === 'trigger' ? [] : [{ name: 'Precedence', value: 'bulk' }]),
    { name: 'Feedback-ID', value: mailingFeedbackId(spec.mailing.id, m.account_id) },
  ];
  const to = [{ email: m.recipient, ...(m.recipient_name ? { name: m.recipient_name } : {}) }];
  let raw = await composeMessage({
    content: spec.content,
    rendered,
    to,
    messageId: messageIdHeader,
    date: new Date(),
    extraHeaders,
  });
  if (source.signer) raw = await source.signer(raw);
  return {
    raw,
    envelopeFrom: `bounces+${m.id}@${spec.returnPathDomain}`,
    messageIdHeader,
    firstDueAt: m.created_at,
  };
}
