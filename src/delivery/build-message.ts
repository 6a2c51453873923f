// The event loop's side of building one outbox row: its source (a transmission's content, a
// mailing's templates, the DKIM keys) is read from the store once and kept in a small LRU cache;
// rendering, composing and signing happen in the build threads (build-pool.ts, build-from-spec.ts).
// A message submitted over SMTP (no templates: its MIME is kept as it came, tracked and signed) is
// built here, streamed through mailsplit.
import type { Kysely } from 'kysely';
import type { Database, MessagesTable } from '../store/schema.ts';
import { findTransmissionById } from '../store/transmissions.ts';
import { findSigningDomain } from '../store/domains.ts';
import type { TransmissionContent } from '../domain/transmission-content.ts';
import { domainOf } from '../domain/email-address.ts';
import { applyTracking } from '../domain/tracking-html.ts';
import { createSigner, type DkimKey, type Signer } from './dkim.ts';
import { MailingSources, type KeyedSpec } from './mailing-source.ts';
import { findTransmissionMime } from '../store/transmission-mime.ts';
import { buildSubmittedMessage, submittedSource, type SubmittedSource } from './build-submitted-message.ts';
import type { BuiltMessage, TransmissionSpec } from './build-protocol.ts';
import type { BuildPool } from './build-pool.ts';

export type { BuiltMessage } from './build-protocol.ts';

/** A transmission sent over HTTP (built in the threads) or submitted over SMTP (built here). */
type Source = { threaded: KeyedSpec<TransmissionSpec> } | { submitted: SubmittedLocal };

interface SubmittedLocal {
  content: TransmissionContent;
  source: SubmittedSource;
  signer: Signer | null;
  returnPathDomain: string;
  dueAt: number;
}

/** Submitted MIME kept in the source cache at most (a few large messages must not fill memory). */
const SUBMITTED_CACHE_BYTES = 64 * 1024 * 1024;

let loads = 0;

export class MessageBuilder {
  private sources = new Map<string, Promise<Source | null>>();
  /** Bytes of submitted MIME per cached transmission, and their sum. */
  private submittedSizes = new Map<string, number>();
  private submittedBytes = 0;
  private signers = new Map<string, { dkimKeys: DkimKey[]; returnPathDomain: string; at: number }>();
  private readonly mailings: MailingSources;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly returnPathDomain: string | null,
    private readonly pool: BuildPool,
    /** Signs the open pixel and tracked links of submitted messages; no tracking without it. */
    private readonly tracking: { secret: string; publicUrl: string } | null = null,
    private readonly clock: () => number = Date.now,
    private readonly cacheSize = 500,
  ) {
    this.mailings = new MailingSources(db, (accountId, fromDomain) => this.signerFor(accountId, fromDomain));
  }

  private async signerFor(accountId: string, fromDomain: string) {
    const key = `${accountId}:${fromDomain}`;
    const cached = this.signers.get(key);
    // Re-read the domain now and then, so a key added or removed takes effect without a restart.
    if (cached && Date.now() - cached.at < 30_000) return cached;
    const d = await findSigningDomain(this.db, accountId, fromDomain);
    const entry = {
      dkimKeys: d
        ? [
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
          ]
        : [],
      returnPathDomain: this.returnPathDomain ?? (d && d.cname_verified ? `bounces.${d.domain}` : fromDomain),
      at: Date.now(),
    };
    this.signers.set(key, entry);
    return entry;
  }

  private loadSource(transmissionId: string): Promise<Source | null> {
    let p = this.sources.get(transmissionId);
    if (!p) {
      p = (async (): Promise<Source | null> => {
        const t = await findTransmissionById(this.db, transmissionId);
        if (!t) return null;
        const content = JSON.parse(t.content) as TransmissionContent;
        const { dkimKeys, returnPathDomain } = await this.signerFor(t.account_id, domainOf(content.from.email));
        const dueAt = t.send_at ?? t.created_at;
        if (content.source === 'smtp') {
          const mime = await findTransmissionMime(this.db, transmissionId);
          if (!mime) return null;
          this.noteSubmitted(transmissionId, mime.length);
          const signer = dkimKeys.length ? createSigner(dkimKeys) : null;
          return { submitted: { content, source: submittedSource(mime), signer, returnPathDomain, dueAt } };
        }
        const spec: TransmissionSpec = { kind: 'transmission', content, dkimKeys, returnPathDomain, dueAt };
        return { threaded: { key: `t${++loads}:${transmissionId}`, spec } };
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
    if (m.mailing_id && !m.transmission_id) {
      const source = await this.mailings.load(m.account_id, m.mailing_id);
      if (!source) throw new Error(`mailing ${m.mailing_id} of message ${m.id} is gone or has no sender`);
      return this.pool.build(source.key, source.spec, m, this.clock(), m.priority);
    }
    if (!m.transmission_id) throw new Error(`message ${m.id} has no source`);
    const source = await this.loadSource(m.transmission_id);
    if (!source) throw new Error(`transmission ${m.transmission_id} of message ${m.id} is gone`);
    if ('threaded' in source)
      return this.pool.build(source.threaded.key, source.threaded.spec, m, this.clock(), m.priority);
    return this.buildSubmitted(source.submitted, m);
  }

  private async buildSubmitted(s: SubmittedLocal, m: MessagesTable): Promise<BuiltMessage> {
    const { content } = s;
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
    const built = await buildSubmittedMessage({
      source: s.source,
      fallbackMessageId: `${m.id}@${domainOf(content.from.email)}`,
      trackHtml: track,
      signer: s.signer,
    });
    return {
      raw: built.raw,
      envelopeFrom: `bounces+${m.id}@${s.returnPathDomain}`,
      messageIdHeader: built.messageId,
      firstDueAt: Math.max(m.created_at, s.dueAt),
    };
  }
}
