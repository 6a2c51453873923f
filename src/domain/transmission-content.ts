// What is stored once per transmission and rendered per recipient at send time.
import type { StoredRecipient } from './mailing-content.ts';

export interface Address {
  email: string;
  name?: string;
}

export interface Attachment {
  filename: string;
  mimeType: string;
  value: string; // base64
  contentId?: string;
  disposition: 'attachment' | 'inline';
}

export interface TransmissionOptions {
  clickTracking: boolean;
  openTracking: boolean;
  transactional: boolean;
  sandbox: boolean;
}

export interface TransmissionContent {
  /** 'smtp': submitted over SMTP; the message is its stored MIME (transmission_mime), not these fields. */
  source?: 'smtp';
  from: Address;
  to: Address[]; // the primary recipients, for the headers of cc/bcc copies
  cc: Address[];
  replyTo: Address[];
  subject: string;
  html: string | null;
  text: string | null;
  templateId: string | null;
  headers: Array<{ name: string; value: string }>;
  attachments: Attachment[];
  substitutionData: Record<string, unknown>;
  metadata: Record<string, string>;
  options: TransmissionOptions;
  campaignId: string | null;
  labels: string[];
}

/** Per-recipient overrides kept on the outbox row. */
export interface RecipientData {
  substitutionData?: Record<string, unknown>;
  metadata?: Record<string, string>;
  /** A mailing's recipient as fan-out stored it (see mailing-content.ts); the variables are made from it. */
  mailingRecipient?: StoredRecipient;
}
