// What a sandbox send does with each of its messages. Sandbox keys and `optionsAttributes.sandbox`
// (and the mailings, test sends and trigger sends of a sandbox key) capture their mail: it goes to
// the capture inbox, never to a relay or MX, and shows in /v1/messages with its raw MIME.
// The one exception is a sandbox recipient who consented (/v1/sandbox/recipients, /p/consent):
// like Mailtarget's authorized sandbox recipients, that address gets the mail for real, so a
// developer sees it in a real mailbox. Decided here once for every way of sending.
import type { Context } from '../context.ts';
import type { ApiKeyInfo } from './api-keys.ts';
import { verifiedSandboxRecipients } from '../store/sandbox-recipients.ts';

export function isSandboxKey(key: Pick<ApiKeyInfo, 'environment'>): boolean {
  return key.environment === 'sandbox';
}

/**
 * The outbox `sandbox` flag of each recipient: 0 for every recipient of a send that is not a
 * sandbox one; for a sandbox send 1 (captured), except 0 for consented sandbox recipients.
 */
export async function sandboxFlags(
  ctx: Context,
  accountId: string,
  sandbox: boolean,
  emails: string[],
): Promise<(email: string) => 0 | 1> {
  if (!sandbox) return () => 0;
  const consented = await verifiedSandboxRecipients(ctx.db, accountId, [
    ...new Set(emails.map((e) => e.toLowerCase())),
  ]);
  return (email) => (consented.has(email.toLowerCase()) ? 0 : 1);
}
