// What the event loop and the build threads say to each other (see build-pool.ts, build-thread.ts).
// A source (a transmission's or a mailing's content, templates and DKIM keys) is sent to a thread
// once under a key and kept there until the pool tells the thread to forget it; each message then
// travels as its outbox row alone.
import type { MessagesTable } from '../store/schema.ts';
import type { TransmissionContent } from '../domain/transmission-content.ts';
import type { MessageTemplates, RenderLimits } from '../domain/render.ts';
import type { PersonalisationJob, PersonalisationResult } from '../domain/personalisation-check.ts';
import type { DkimKey } from './dkim.ts';

/** An HTTP transmission: its content (templates, shared data) and how its messages are signed. */
export interface TransmissionSpec {
  kind: 'transmission';
  content: TransmissionContent;
  dkimKeys: DkimKey[];
  returnPathDomain: string;
  /** When the transmission's messages first became due (its sendAt, if it was scheduled). */
  dueAt: number;
}

/** A mailing: its templates (the text one derived from HTML when it has none) and bulk-mail headers. */
export interface MailingSpec {
  kind: 'mailing';
  mailing: { id: number; account_id: string; channel_id: number | null; type: string };
  content: TransmissionContent;
  templates: MessageTemplates;
  listId: string;
  dkimKeys: DkimKey[];
  returnPathDomain: string;
  /** Custom field names by id, for `customerFields.<name>`. */
  fieldNames: Array<[number, string[]]>;
  /** The mailing's own variables (`mailing.id`, `.name`, `.customerFields`). */
  mailingVariables: { id: number; name: string; customerFields: Record<string, unknown> };
  /** Which of the optional links any template uses (the unsubscribe link is always needed: List-Unsubscribe). */
  wantedLinks: { preferences: boolean; view: boolean };
}

export type SourceSpec = TransmissionSpec | MailingSpec;

/** Given to every thread when it starts. */
export interface ThreadInit {
  limits: RenderLimits;
  /** Signs the open pixel, tracked links and recipients' links; null: no tracking, no links. */
  tracking: { secret: string; publicUrl: string } | null;
}

export interface BuildItem {
  key: string;
  row: MessagesTable;
  /** The time links are signed at (the worker's clock). */
  now: number;
}

export type ToThread =
  | { type: 'build'; forget: string[]; sources: Array<[string, SourceSpec]>; items: BuildItem[] }
  | { type: 'check'; job: PersonalisationJob };

export type FromThread =
  | { type: 'ready' }
  | { type: 'built'; raw: Uint8Array; envelopeFrom: string; messageIdHeader: string; firstDueAt: number }
  | { type: 'failed'; message: string }
  | { type: 'checked'; result: PersonalisationResult };

export interface BuiltMessage {
  raw: Buffer;
  envelopeFrom: string;
  messageIdHeader: string;
  /** Retries are bounded from here: a scheduled message's window opens at its send time, not at accept. */
  firstDueAt: number;
}
