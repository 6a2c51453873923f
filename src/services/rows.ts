// The rows the surfaces present, as the store reads them. The surfaces (src/http, src/smtp) take
// these types from here and never import src/store themselves: their data comes through services.
export type { AccountRow } from '../store/accounts.ts';
export type { ApiKeyRow } from '../store/api-keys.ts';
export type { BlacklistRow } from '../store/blacklist.ts';
export type { ChannelRow } from '../store/channels.ts';
export type { JobRow } from '../store/jobs.ts';
export type { MailingRow } from '../store/mailings.ts';
export type { MessagesTable as MessageRow } from '../store/schema.ts';
