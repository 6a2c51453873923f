// Render → compose → sign for one outbox row. Each transmission's content is parsed and its
// templates compiled once, then reused for all of its recipients (a small LRU cache).
import type { Kysely } from 'kysely';
import type { Database, MessagesTable } from '../store/schema.ts';
import { findTransmissionById } from '../store/transmissions.ts';
import { findSigningDomain } from '../store/domains.ts';
import { compileMessage, renderMessage, type CompiledMessage } from '../domain/render.ts';
import type { RecipientData, TransmissionContent } from '../domain/transmission-content.ts';
import { domainOf } from '../domain/email-address.ts';
import { parseJson } from '../store/json.ts';
import { applyTracking } from '../domain/tracking-html.ts';
import { composeMessage } from './composer.ts';
import { createSigner, type Signer } from './dkim.ts';
import { MailingSources } from './mailing-source.ts';
import { findTransmissionMime } from '../store/transmission-mime.ts';
import { buildSubmittedMessage, submittedSource, type SubmittedSource } from './build-submitted-message.ts';

interface Source {
  content: TransmissionContent;
  /** Templates of an HTTP transmission; null for one submitted over SMTP (its MIME is `submitted`). */
  compiled: CompiledMessage | null;
  submitted: SubmittedSource | null;
  signer: Signer | null;
  returnPathDomain: string;
  /** When the transmission's messages first became due (its sendAt, if it was scheduled). */
  dueAt: number;
}

export interface BuiltMessage {
  raw: Buffer;
  envelopeFrom: string;
  messageIdHeader: string;
  /** Retries are bounded from here: a scheduled message's window opens at its send time, not at accept. */
  firstDueAt: number;
}

/** Submitted MIME kept in the source cache at most (a few large messages must not fill memory). */
const SUBMITTED_CACHE_BYTES = 64 * 1024 * 1024;

export class MessageBuilder {
  private sources = new Map<string, Promise<Source | null>>();
  /** Bytes of submitted MIME per cached transmission, and their sum. */
  private submittedSizes = new Map<string, number>();
  private submittedBytes = 0;
  private signers = new Map<string, { signer: Signer | null; returnPathDomain: string; at: number }>();
  private readonly mailings: MailingSources;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly returnPathDomain: string | null,
    private readonly cacheSize = 500,
    /** Signs the open pixel and tracked links (installation secret, public URL); no tracking without it. */
    private readonly tracking: { secret: string; publicUrl: string } | null = null,
    clock: () => number = Date.now,
  ) {
    this.mailings = new MailingSources(db, (accountId, fromDomain) => this.signerFor(accountId, fromDomain), {
      tracking,
      clock,
    });
  }

  private async signerFor(accountId: string, fromDomain: string) {
    const key = `${accountId}:${fromDomain}`;
    const cached = this.signers.get(key);
    // Re-read the domain now and then, so a key added or removed takes effect without a restart.
    if (cached && Date.now() - cached.at < 30_000) return cached;
    const d = await findSigningDomain(this.db, accountId, fromDomain);
    const entry = {
      signer: d
        ? createSigner([
            { domain: d.domain, selector: d.dkim_selector, privateKeyPem: d.dkim_private_key },
            // The domain's second key, when it has one: an Ed25519 signature next to the RSA one.
            ...(d.dkim_ed25519_selector && d.dkim_ed25519_private_key
              ? [
                  {
                    domain: d.domain,
                    selector: d.dkim_ed25519_selector,
                    privateKeyPem: d.dkim_ed25519_private_key,
                    algorithm: 'ed25519' as const,
                  },
                ]
              : []),
          ])
        : null,
      returnPathDomain: this.returnPathDomain ?? (d && d.cname_verified ? `bounces.${d.domain}` : fromDomain),
      at: Date.now(),
    };
    this.signers.set(key, entry);
    return entry;
  }

  private loadSource(transmissionId: string): Promise<Source | null> {
    let p = this.sources.get(transmissionId);
    if (!p) {
      p = (async () => {
        const t = await findTransmissionById(this.db, transmissionId);
        if (!t) return null;
        const content = JSON.parse(t.content) as TransmissionContent;
        const { signer, returnPathDomain } = await this.signerFor(t.account_id, domainOf(content.from.email));
        let submitted: SubmittedSource | null = null;
        if (content.source === 'smtp') {
          const mime = await findTransmissionMime(this.db, transmissionId);
          if (!mime) return null;
          submitted = submittedSource(mime);
          this.noteSubmitted(transmissionId, mime.length);
        }
        return {
          content,
          compiled: submitted ? null : compileMessage(content),
          submitted,
          signer,
          returnPathDomain,
          dueAt: t.send_at ?? t.created_at,
        };
      })();
      this.sources.set(transmissionId, p);
      p.catch(() => this.forget(transmissionId));
      this.evict();
    }
    return p;
  }

  private noteSubmitted(transmissionId: string, bytes: number): void {
    if (!this.sources.has(transmissionId)) return;
    this.submittedSizes.set(transmissionId, bytes);
    this.submittedBytes += bytes;
    this.evict();
  }

  /** Oldest first, until the cache holds at most cacheSize sources and its submitted-MIME budget. */
  private evict(): void {
    while (this.sources.size > this.cacheSize || (this.submittedBytes > SUBMITTED_CACHE_BYTES && this.sources.size > 1))
      this.forget(this.sources.keys().next().value!);
  }

  private forget(transmissionId: string): void {
    this.sources.delete(transmissionId);
    this.submittedBytes -= this.submittedSizes.get(transmissionId) ?? 0;
    this.submittedSizes.delete(transmissionId);
  }

  async build(m: MessagesTable): Promise<BuiltMessage> {
    if (m.mailing_id && !m.transmission_id) return this.mailings.build(m);
    if (!m.transmission_id) throw new Error(`message ${m.id} has no source`);
    const source = await this.loadSource(m.transmission_id);
    if (!source) throw new Error(`transmission ${m.transmission_id} of message ${m.id} is gone`);
    const { content } = source;
    const fromDomain = domainOf(content.from.email);
    const tracking = this.tracking;
    const track =
      tracking && (content.options.openTracking || content.options.clickTracking)
        ? (html: string) =>
            applyTracking(html, {
              ...tracking,
              messageId: m.id,
              accountId: m.account_id,
              open: content.options.openTracking,
              click: content.options.clickTracking,
            })
        : null;
    const envelopeFrom = `bounces+${m.id}@${source.returnPathDomain}`;
    const firstDueAt = Math.max(m.created_at, source.dueAt);
    if (source.submitted) {
      const built = await buildSubmittedMessage({
        source: source.submitted,
        fallbackMessageId: `${m.id}@${fromDomain}`,
        trackHtml: track,
        signer: source.signer,
      });
      return { raw: built.raw, envelopeFrom, messageIdHeader: built.messageId, firstDueAt };
    }
    const own = parseJson<RecipientData>(m.recipient_data, {});
    const data = { ...content.substitutionData, ...(own.substitutionData ?? {}) };
    const rendered = renderMessage(source.compiled!, data);
    if (rendered.html && track) rendered.html = track(rendered.html);
    const messageIdHeader = `${m.id}@${fromDomain}`;
    const to =
      m.recipient_type === 'to'
        ? [{ email: m.recipient, ...(m.recipient_name ? { name: m.recipient_name } : {}) }]
        : content.to;
    const extraHeaders = content.headers.some((h) => h.name.toLowerCase() === 'feedback-id')
      ? []
      : [{ name: 'Feedback-ID', value: feedbackId(m, content) }];
    let raw = await composeMessage({
      content,
      rendered,
      to,
      messageId: messageIdHeader,
      date: new Date(),
      extraHeaders,
    });
    if (source.signer) raw = await source.signer(raw);
    return { raw, envelopeFrom, messageIdHeader, firstDueAt };
  }
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
