// The machine-readable part of a DSN (RFC 3464 `message/delivery-status`, and RFC 6533's
// `message/global-delivery-status`): a block of per-message fields, then one block per recipient,
// blocks separated by empty lines, each written like a header (with continuation lines). Pure.

export interface DsnRecipient {
  /** The address the report is about (Final-Recipient, else Original-Recipient), without its type. */
  recipient: string | null;
  /** failed | delayed | delivered | relayed | expanded (lower-cased); null when missing. */
  action: string | null;
  /** The enhanced status code (RFC 3463) of the Status field, e.g. "5.1.1". */
  status: string | null;
  /** The receiving server's reply (Diagnostic-Code without its "smtp;" type), if given. */
  diagnostic: string | null;
  remoteMta: string | null;
}

export interface DeliveryStatus {
  reportingMta: string | null;
  originalEnvelopeId: string | null;
  recipients: DsnRecipient[];
}

/** Splits header-like text into blocks of fields (names lower-cased; values unfolded and trimmed). */
export function fieldBlocks(text: string): Array<Map<string, string>> {
  const blocks: Array<Map<string, string>> = [];
  let current = new Map<string, string>();
  let last: string | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (current.size > 0) blocks.push(current);
      current = new Map();
      last = null;
      continue;
    }
    if (/^[ \t]/.test(line) && last) {
      current.set(last, `${current.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[a-z0-9-]+$/.test(name)) continue;
    // The first occurrence wins: a repeated field is an error of the writer.
    if (!current.has(name)) current.set(name, line.slice(colon + 1).trim());
    last = name;
  }
  if (current.size > 0) blocks.push(current);
  return blocks;
}

/** `rfc822; <a@b.c>` → `a@b.c`; `smtp; 550 5.1.1 …` → `550 5.1.1 …`. */
export function withoutType(value: string | undefined): string | null {
  if (value === undefined) return null;
  const semi = value.indexOf(';');
  const rest = (
    semi >= 0 && /^[A-Za-z0-9-]+$/.test(value.slice(0, semi).trim()) ? value.slice(semi + 1) : value
  ).trim();
  return rest === '' ? null : rest;
}

export function bareAddress(value: string | null | undefined): string | null {
  if (!value) return null;
  const angle = /<([^<>\s]+@[^<>\s]+)>/.exec(value);
  const address = (angle ? angle[1] : value.trim()).replace(/^["']|["']$/g, '');
  return /^[^\s@]+@[^\s@]+$/.test(address) ? address : null;
}

export function parseDeliveryStatus(text: string): DeliveryStatus {
  const blocks = fieldBlocks(text);
  // The per-message block is first; it is recognised by its fields, as some writers omit it.
  const isRecipient = (b: Map<string, string>) =>
    b.has('final-recipient') || b.has('original-recipient') || b.has('action') || b.has('status');
  const head = blocks[0] && !isRecipient(blocks[0]) ? blocks[0] : new Map<string, string>();
  const recipients = blocks.filter(isRecipient).map((b): DsnRecipient => ({
    recipient: bareAddress(withoutType(b.get('final-recipient') ?? b.get('original-recipient'))),
    action: b.get('action')?.toLowerCase().split(/\s/)[0] ?? null,
    status: /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(b.get('status') ?? '')?.[1] ?? null,
    diagnostic: withoutType(b.get('diagnostic-code')),
    remoteMta: withoutType(b.get('remote-mta')),
  }));
  return {
    reportingMta: withoutType(head.get('reporting-mta')),
    originalEnvelopeId: head.get('original-envelope-id')?.trim() || null,
    recipients,
  };
}
