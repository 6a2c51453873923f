// The shapes of the API answers the dashboard reads (see /v1/openapi.json and /api/v1/openapi.json).

export interface Message {
  id: string;
  transmissionId: string | null;
  mailingId: string | null;
  recipient: string;
  recipientName: string | null;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastResponse: string | null;
  bounceClass: number | null;
  sandbox: boolean;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
}

export interface MessageEvent {
  type: string;
  recipient: string | null;
  reason?: string;
  url?: string;
  timestamp: number;
  bounceClass: number | null;
}

export interface MessageDetail extends Message {
  events: MessageEvent[];
  rawUrl: string | null;
  previewUrl: string | null;
}

export interface Address {
  email: string;
  name: string | null;
}

export interface MessagePreview {
  subject: string;
  from: Address | null;
  to: Address[];
  cc: Address[];
  date: string | null;
  messageId: string | null;
  html: string | null;
  /** The HTML without Posthorn's open pixel and with tracked links at their destinations. */
  displayHtml: string | null;
  text: string | null;
  attachments: Array<{ filename: string | null; contentType: string; size: number }>;
}

export interface Page<T> {
  count: number;
  data: T[];
}
