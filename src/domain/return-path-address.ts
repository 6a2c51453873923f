// The addresses the inbound receiver takes mail for. Every message leaves with a VERP envelope
// sender `bounces+<outbox id>@<return-path host>` and mailings carry a List-Unsubscribe mailto
// `unsubscribe+<outbox id>@<return-path host>`; reports without a VERP address (feedback loops
// registered with a mailbox provider, a postmaster writing back) reach the bare mailboxes below.
// Pure.

export type ReturnPathAddress =
  | { kind: 'bounce'; messageId: string; domain: string }
  | { kind: 'unsubscribe'; messageId: string; domain: string }
  | { kind: 'mailbox'; mailbox: string; domain: string };

/** Mailboxes without an id taken at return-path hosts (RFC 5321 requires postmaster). */
export const REPORT_MAILBOXES = ['bounces', 'fbl', 'postmaster', 'abuse'] as const;

const OUTBOX_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function parseReturnPathAddress(address: string): ReturnPathAddress | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  const local = address.slice(0, at).toLowerCase();
  const domain = address
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  const plus = local.indexOf('+');
  if (plus > 0) {
    const tag = local.slice(0, plus);
    // Ids are lower-case hex; a mail system that upper-cased the address still finds its message.
    const messageId = local.slice(plus + 1);
    if (!OUTBOX_ID.test(messageId)) return null;
    if (tag === 'bounces') return { kind: 'bounce', messageId, domain };
    if (tag === 'unsubscribe') return { kind: 'unsubscribe', messageId, domain };
    return null;
  }
  return (REPORT_MAILBOXES as readonly string[]).includes(local) ? { kind: 'mailbox', mailbox: local, domain } : null;
}

/** The outbox id in a VERP address found in a returned message's headers (Return-Path, Original-Mail-From). */
export function verpIdOf(address: string | null | undefined): string | null {
  if (!address) return null;
  const m = /\bbounces\+([A-Za-z0-9_-]{1,64})@/i.exec(address);
  return m ? m[1].toLowerCase() : null;
}

/**
 * The outbox id in a Message-ID Posthorn wrote: `<outbox id>@<from domain>` (24 hex characters,
 * see ids.ts). Other Message-IDs (a submitted message keeps its own) are looked up as they are.
 */
export function outboxIdOfMessageId(messageId: string | null | undefined): string | null {
  if (!messageId) return null;
  const m = /^<?([0-9a-f]{24})@[^>]+>?$/i.exec(messageId.trim());
  return m ? m[1].toLowerCase() : null;
}

/** `<abc@host>` → `abc@host` (the form message_id_header is stored in). */
export function bareMessageId(value: string | null | undefined): string | null {
  if (!value) return null;
  const m = /<([^<>\s]+)>/.exec(value) ?? /^\s*([^<>\s]+)\s*$/.exec(value);
  return m ? m[1] : null;
}
