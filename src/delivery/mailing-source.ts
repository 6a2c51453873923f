// Builds one message of a mailing: the mailing's templates are compiled once per mailing (and
// kept while it sends), the recipient's variables were stored on the outbox row at fan-out, and
// the bulk-mail headers (List-Id, List-Unsubscribe + one-click, Precedence, Feedback-ID) are added.
import type { Kysely } from 'kysely';
import type { Database, MessagesTable } from '../store/schema.ts';
import { findMailing, subscriberFieldNames, type MailingRow } from '../store/mailings.ts';
import { findChannel } from '../store/channels.ts';
import { compileMessage, renderMessage, type CompiledMessage } from '../domain/render.ts';
import {
  listIdHeader,
  mailingFeedbackId,
  mailingTemplates,
  recipientVariables,
  signedRecipientLinks,
} from '../domain/mailing-content.ts';
import { deriveTextTemplate } from '../domain/html-text.ts';
import type { RecipientData, TransmissionContent } from '../domain/transmission-content.ts';
import { domainOf } from '../domain/email-address.ts';
import { parseJson } from '../store/json.ts';
import { applyTracking } from '../domain/tracking-html.ts';
import { composeMessage } from './composer.ts';
import type { Signer } from './dkim.ts';
import type { BuiltMessage } from './build-message.ts';

export type SignerLookup = (
  accountId: string,
  fromDomain: string,
) => Promise<{ signer: Signer | null; returnPathDomain: string }>;

interface MailingSourceEntry {
  mailing: MailingRow;
  content: TransmissionContent;
  compiled: CompiledMessage;
  listId: string;
  signer: Signer | null;
  returnPathDomain: string;
  /** Custom field names by id, for `customerFields.<name>`. */
  fieldNames: Map<number, string[]>;
  /** The mailing's own variables (`mailing.id`, `.name`, `.customerFields`). */
  mailingVariables: { id: number; name: string; customerFields: Record<string, unknown> };
  /** Which of the optional links any template uses (the unsubscribe link is always needed: List-Unsubscribe). */
  wantedLinks: { preferences: boolean; view: boolean };
}

export interface MailingSourceOptions {
  /** Signs the open pixel, tracked links and the recipients' links; null: no tracking, no links. */
  tracking: { secret: string; publicUrl: string } | null;
  clock: () => number;
}

export class MailingSources {
  private readonly sources = new Map<string, Promise<MailingSourceEntry | null>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly signerFor: SignerLookup,
    private readonly opts: MailingSourceOptions,
    private readonly cacheSize = 100,
  ) {}

  private get tracking() {
    return this.opts.tracking;
  }

  private load(accountId: string, mailingId: string): Promise<MailingSourceEntry | null> {
    const key = `${accountId}:${mailingId}`;
    let p = this.sources.get(key);
    if (!p) {
      p = (async () => {
        const mailing = await findMailing(this.db, accountId, Number(mailingId));
        if (!mailing || !mailing.sender_email) return null;
        const channel =
          mailing.channel_id === null ? undefined : await findChannel(this.db, accountId, mailing.channel_id);
        const templates = mailingTemplates(mailing);
        // Without a text part, the text template is derived from the HTML template once, not per message.
        const text = templates.text ?? (templates.html !== null ? deriveTextTemplate(templates.html) : null);
        const fromName = mailing.sender_name ?? undefined;
        const content: TransmissionContent = {
          from: fromName ? { email: mailing.sender_email, name: fromName } : { email: mailing.sender_email },
          to: [],
          cc: [],
          replyTo: mailing.reply_to ? [{ email: mailing.reply_to }] : [],
          subject: templates.subject,
          html: templates.html,
          text: templates.text,
          templateId: null,
          headers: [],
          attachments: [],
          substitutionData: {},
          metadata: {},
          options: {
            clickTracking: mailing.tracking_clicks === 1,
            openTracking: mailing.tracking_opens === 1,
            transactional: false,
            sandbox: false,
          },
          campaignId: String(mailing.id),
          labels: [],
        };
        const fromDomain = domainOf(mailing.sender_email);
        const { signer, returnPathDomain } = await this.signerFor(accountId, fromDomain);
        const listId = listIdHeader(
          accountId,
          channel ? { id: Number(channel.id), name: channel.name } : null,
          fromDomain,
        );
        const sources = [templates.subject, templates.html ?? '', text ?? ''].join('\n');
        return {
          mailing,
          content,
          compiled: compileMessage({ ...templates, text }),
          listId,
          signer,
          returnPathDomain,
          fieldNames: await subscriberFieldNames(this.db, accountId),
          mailingVariables: {
            id: mailing.id,
            name: mailing.name,
            customerFields: parseJson<Record<string, unknown>>(mailing.customer_fields, {}),
          },
          wantedLinks: { preferences: /\bpreferencesUrl\b/.test(sources), view: /\bwebViewUrl\b/.test(sources) },
        };
      })();
      this.sources.set(key, p);
      p.catch(() => this.sources.delete(key));
      if (this.sources.size > this.cacheSize) this.sources.delete(this.sources.keys().next().value!);
    }
    return p;
  }

  /** The template variables: made from the stored recipient (fan-out), or stored whole (trigger sends, older rows). */
  private variables(source: MailingSourceEntry, m: MessagesTable): Record<string, unknown> {
    const stored = parseJson<RecipientData>(m.recipient_data, {});
    const recipient = stored.mailingRecipient;
    if (!recipient) return stored.substitutionData ?? {};
    const links = this.tracking
      ? signedRecipientLinks(this.tracking, this.opts.clock(), source.mailing, recipient.s.id, source.wantedLinks)
      : { unsubscribeUrl: '', preferencesUrl: '', webViewUrl: '' };
    return recipientVariables(recipient.s, new Map(recipient.f), source.fieldNames, links, source.mailingVariables);
  }

  async build(m: MessagesTable): Promise<BuiltMessage> {
    const source = await this.load(m.account_id, m.mailing_id!);
    if (!source) throw new Error(`mailing ${m.mailing_id} of message ${m.id} is gone or has no sender`);
    const data = this.variables(source, m);
    const rendered = renderMessage(source.compiled, data);
    const { openTracking, clickTracking } = source.content.options;
    if (rendered.html && this.tracking && (openTracking || clickTracking)) {
      // After rendering, so personalized links are tracked too; unsubscribe/preferences/web-view
      // links (under PUBLIC_URL/p/) are left alone by applyTracking.
      rendered.html = applyTracking(rendered.html, {
        ...this.tracking,
        messageId: m.id,
        accountId: m.account_id,
        open: openTracking,
        click: clickTracking,
      });
    }
    const fromDomain = domainOf(source.content.from.email);
    const messageIdHeader = `${m.id}@${fromDomain}`;
    const unsubscribeUrl = typeof data.unsubscribeUrl === 'string' ? data.unsubscribeUrl : null;
    const extraHeaders = [
      { name: 'List-Id', value: source.listId },
      ...(unsubscribeUrl
        ? [
            {
              name: 'List-Unsubscribe',
              value: `<${unsubscribeUrl}>, <mailto:unsubscribe+${m.id}@${source.returnPathDomain}?subject=unsubscribe>`,
            },
            { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
          ]
        : []),
      // A trigger mailing's message answers one person's action: not bulk mail.
      ...(source.mailing.type === 'trigger' ? [] : [{ name: 'Precedence', value: 'bulk' }]),
      { name: 'Feedback-ID', value: mailingFeedbackId(source.mailing.id, m.account_id) },
    ];
    const to = [{ email: m.recipient, ...(m.recipient_name ? { name: m.recipient_name } : {}) }];
    let raw = await composeMessage({
      content: source.content,
      rendered,
      to,
      messageId: messageIdHeader,
      date: new Date(),
      extraHeaders,
    });
    if (source.signer) raw = await source.signer(raw);
    return {
      raw,
      envelopeFrom: `bounces+${m.id}@${source.returnPathDomain}`,
      messageIdHeader,
      firstDueAt: m.created_at,
    };
  }
}
