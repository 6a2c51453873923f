// Address and header-value rules shared by every surface.

// A pragmatic address check: one @, a dot-atom-ish local part, a domain of labels with a TLD.
// Quoted local parts and IP literals are refused on purpose: they are almost always mistakes.
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function isValidEmail(email: string): boolean {
  if (email.length > 254) return false;
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64 || !LOCAL.test(local)) return false;
  return isValidDomain(domain);
}

export function isValidDomain(domain: string): boolean {
  if (domain.length > 253) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((l) => LABEL.test(l))) return false;
  return /^[A-Za-z][A-Za-z0-9-]*$/.test(labels[labels.length - 1]) || /^xn--/.test(labels[labels.length - 1]);
}

/** Lower-cases the domain only: local parts may be case-sensitive by RFC 5321. */
export function normalizeEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return at < 0 ? email : email.slice(0, at) + '@' + email.slice(at + 1).toLowerCase();
}

export function domainOf(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

/** CR, LF and NUL would let a value start a new header line (header injection). */
export function hasLineBreak(value: string): boolean {
  return /[\r\n\0]/.test(value);
}

export const HEADER_NAME = /^[!-9;-~]+$/; // RFC 5322 field name: printable ASCII except colon

/** Headers Posthorn writes itself; a client may not set or override them. */
const OWNED = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'message-id',
  'date',
  'dkim-signature',
  'return-path',
  'sender',
  'reply-to',
]);

export function isOwnedHeader(name: string): boolean {
  const n = name.toLowerCase();
  return OWNED.has(n) || n.startsWith('mime-') || n.startsWith('content-');
}
