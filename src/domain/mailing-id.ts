// Mailings have integer ids (the marketing API's); the outbox and the event log keep the id of the
// mailing a message belongs to as text, next to transmission ids. Wherever a mailing id leaves the
// server (/v1/messages, webhooks of both APIs) it is the same JSON type: a number, or null.

/** The JSON form of a stored mailing id: a number, or null when the message is not a mailing's. */
export function mailingIdJson(stored: string | number | null | undefined): number | null {
  if (stored === null || stored === undefined) return null;
  const id = Number(stored);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}
