// A mailing's build spec, read from the store once per mailing (and kept while it sends): its
// templates, List-Id, DKIM keys and custom field names. The build threads make each message from
// it (build-from-spec.ts): the recipient's variables were stored on the outbox row at fan-out, and
// the bulk-mail headers (List-Id, List-Unsubscribe + one-click, Precedence, Feedback-ID) are added.
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { findMailing, subscriberFieldNames } from '../store/mailings.ts';
import { findChannel } from '../store/channels.ts';
import { listIdHeader, mailingTemplates } from '../domain/mailing-content.ts';
import { deriveTextTemplate } from '../domain/html-text.ts';
import type { TransmissionContent } from '../domain/transmission-content.ts';
import { domainOf } from '../domain/email-address.ts';
import { parseJson } from '../store/json.ts';
import type { DkimKey } from './dkim.ts';
import type { MailingSpec } from './build-protocol.ts';

export type SignerLookup = (
  accountId: string,
  fromDomain: string,
) => Promise<{ dkimKeys: DkimKey[]; returnPathDomain: string }>;

/** A loaded spec under a key of its own: a mailing loaded again (after eviction) gets a new key. */
export interface KeyedSpec<T> {
  key: string;
  spec: T;
}

let loads = 0;

export class MailingSources {
  private readonly sources = new Map<string, Promise<KeyedSpec<MailingSpec> | null>>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly signerFor: SignerLookup,
    private readonly cacheSize = 100,
  ) {}

  load(accountId: string, mailingId: string): Promise<KeyedSpec<MailingSpec> | null> {
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
        const { dkimKeys, returnPathDomain } = await this.signerFor(accountId, fromDomain);
        const listId = listIdHeader(
          accountId,
          channel ? { id: Number(channel.id), name: channel.name } : null,
          fromDomain,
        );
        const sources = [templates.subject, templates.html ?? '', text ?? ''].join('\n');
        const spec: MailingSpec = {
          kind: 'mailing',
          mailing: {
            id: mailing.id,
            account_id: mailing.account_id,
            channel_id: mailing.channel_id,
            type: mailing.type,
          },
          content,
          templates: { ...templates, text },
          listId,
          dkimKeys,
          returnPathDomain,
          fieldNames: [...(await subscriberFieldNames(this.db, accountId))],
          mailingVariables: {
            id: mailing.id,
            name: mailing.name,
            customerFields: parseJson<Record<string, unknown>>(mailing.customer_fields, {}),
          },
          wantedLinks: { preferences: /\bpreferencesUrl\b/.test(sources), view: /\bwebViewUrl\b/.test(sources) },
        };
        return { key: `m${++loads}:${key}`, spec };
      })();
      this.sources.set(key, p);
      p.catch(() => this.sources.delete(key));
      if (this.sources.size > this.cacheSize) this.sources.delete(this.sources.keys().next().value!);
    }
    return p;
  }
}
