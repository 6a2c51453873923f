// The database's tables as Kysely sees them. Times are epoch milliseconds (integers) and
// JSON is stored as text, so one schema runs unchanged on SQLite and PostgreSQL.
import type { Generated } from 'kysely';

export interface AccountsTable {
  id: string;
  /** The integer id the transactional surface shows (companyId, subAccountId) and whoami's id. */
  int_id: Generated<number>;
  name: string;
  parent_id: string | null;
  status: string; // Active | Suspended | Terminated
  created_at: number;
}

export interface ApiKeysTable {
  id: string; // public part of the key, 8 alphanumerics
  /** The integer id of the contract (GET/PUT/DELETE /v1/api-key/{id}). */
  int_id: Generated<number>;
  account_id: string;
  name: string;
  secret_hash: string; // sha256 hex of the secret part
  permissions: string; // JSON array of permission ids
  allowed_ips: string; // JSON array of IPs/CIDRs; empty = any
  environment: string; // production | sandbox
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  /** 1: authenticates SMTP connections from its allowed IPs without AUTH (migration 0009). */
  smtp_ip_auth: Generated<number>;
}

export interface TransmissionsTable {
  id: string;
  account_id: string;
  api_key_id: string | null;
  from_email: string;
  from_name: string | null;
  subject: string;
  content: string; // JSON: TransmissionContent
  recipient_count: number;
  sandbox: number; // 0/1
  transactional: number; // 0/1
  campaign_id: string | null;
  send_at: number | null;
  created_at: number;
}

/** A submitted message's MIME, once per SMTP transmission (migration 0009). */
export interface TransmissionMimeTable {
  transmission_id: string;
  account_id: string;
  mime: Buffer;
  created_at: number;
}

export interface MessagesTable {
  id: string;
  account_id: string;
  transmission_id: string | null;
  mailing_id: string | null;
  /** The subscriber a mailing's message is for (null for transmissions). */
  subscriber_id?: number | null;
  recipient: string;
  recipient_name: string | null;
  recipient_type: string; // to | cc | bcc
  recipient_data: string | null; // JSON {substitutionData, metadata} overrides for this recipient
  status: string; // queued sending deferred delivered bounced suppressed captured cancelled
  priority: number; // lower is sooner: 0 transactional, 10 bulk
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_response: string | null;
  bounce_class: number | null;
  message_id_header: string | null;
  size: number | null;
  sandbox: number;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

export interface MessageRawTable {
  message_id: string;
  account_id: string;
  /** Captures before migration 0017, as text; '' for later ones. */
  raw: string;
  /** The captured message's bytes (migration 0017 on). */
  mime: Buffer | null;
  created_at: number;
}

export interface EventsTable {
  id: Generated<number>;
  account_id: string;
  type: string;
  message_id: string | null;
  transmission_id: string | null;
  mailing_id: string | null;
  recipient: string | null;
  data: string | null; // JSON with type-specific fields
  created_at: number;
}

export interface TemplatesTable {
  id: string;
  account_id: string;
  name: string;
  subject: string | null;
  html: string | null;
  text: string | null;
  created_at: number;
  updated_at: number;
}

export interface SendingDomainsTable {
  id: Generated<number>; // the contract's integer id (migration 0012)
  account_id: string;
  domain: string;
  note: string | null;
  dkim_selector: string;
  dkim_private_key: string;
  dkim_public_key: string; // base64 DER (the p= value)
  /** The optional second key (Ed25519, RFC 8463); null when the domain signs with RSA only. */
  dkim_ed25519_selector?: string | null;
  dkim_ed25519_private_key?: string | null;
  dkim_ed25519_public_key?: string | null; // base64 of the raw 32-byte key (the p= value)
  dkim_ed25519_verified?: number;
  spf_verified: number;
  dkim_verified: number;
  cname_verified: number;
  dmarc_verified: number;
  status: string; // unverified | verified
  /** PRIMARY: the owner's alone; ALL: shared with every sub-account of the owner. */
  assignment: Generated<string>;
  last_checked_at: number | null;
  created_at: number;
}

/** A recipient domain's MTA-STS policy as last fetched (RFC 8461), kept until it expires. */
export interface MtaStsPoliciesTable {
  domain: string;
  policy_id: string;
  mode: string; // enforce | testing | none
  mx: string; // JSON array of patterns
  max_age: number;
  fetched_at: number;
  expires_at: number;
}

export interface SuppressionsTable {
  id: string;
  account_id: string;
  email: string;
  type: string; // bounce | spam_complaint | unsubscribe | manual
  reason: string | null;
  created_at: number;
}

/** An address whose latest outcomes are soft bounces: how many in a row (a delivery deletes the row). */
export interface SoftBounceStreaksTable {
  account_id: string;
  email: string;
  count: number;
  last_bounce_at: number;
}

export interface IdempotencyKeysTable {
  account_id: string;
  scope: string; // which surface/endpoint the key belongs to
  key: string;
  request_hash: string;
  response_status: number;
  response_body: string;
  created_at: number;
}

export interface AccountUsageTable {
  account_id: string;
  day: string;
  sent: number;
  /** Of `sent`, the messages sandbox sends caused (the sandbox daily limit counts these). */
  sandbox_sent: Generated<number>;
}

export interface SettingsTable {
  name: string;
  value: string;
}

// ---- marketing (mail2many-compatible) ----

export interface ChannelsTable {
  id: Generated<number>;
  account_id: string;
  name: string;
  sender_name: string | null;
  sender_email: string | null;
  reply_to: string | null;
  language_iso: string;
  color: string | null;
  /** The optIn mailing sent to confirm a signup (null: the built-in mail). */
  opt_in_mailing_id?: number | null;
  /** The optOut mailing sent after an unsubscribe (null: no goodbye mail). */
  opt_out_mailing_id?: number | null;
  created_at: number;
  updated_at: number;
}

export interface SubscribersTable {
  id: Generated<number>;
  account_id: string;
  email: string | null;
  status: number; // 1 ready, 2 not ready, 3 archived
  status_addition: number | null;
  gender_id: number | null;
  language_iso: string | null;
  title: string | null;
  firstname: string | null;
  lastname: string | null;
  company: string | null;
  street: string | null;
  postcode: string | null;
  city: string | null;
  phone_number: string | null;
  birthday: string | null;
  opt_in_comment: string | null;
  opt_in_sent_at: number | null;
  opt_in_confirmed_at: number | null;
  opt_in_ip: string | null;
  reference: string | null;
  last_opened_at: number | null;
  last_clicked_at: number | null;
  deleted_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface SubscriberChannelsTable {
  subscriber_id: number;
  channel_id: number;
  account_id: string;
  created_at: number;
}

export interface CustomerFieldsTable {
  id: Generated<number>;
  account_id: string;
  field_type: number;
  type: number;
  is_available_for_import: number;
  is_available_for_export: number;
  is_editable: number;
  translations: string;
  created_at: number;
  updated_at: number;
}

export interface SubscriberFieldValuesTable {
  subscriber_id: number;
  field_id: number;
  account_id: string;
  value: string | null;
  value_num: number | null;
}

export interface SubscriberGroupsTable {
  id: Generated<number>;
  account_id: string;
  name: string;
  type: number;
  conditions: string | null;
  can_edit: number;
  can_delete: number;
  can_assign_subscribers: number;
  created_at: number;
  updated_at: number;
}

export interface SubscriberGroupMembersTable {
  group_id: number;
  subscriber_id: number;
  account_id: string;
  created_at: number;
}

export interface BlacklistTable {
  id: Generated<number>;
  account_id: string;
  pattern: string;
  created_at: number;
}

export interface JobsTable {
  id: Generated<number>;
  account_id: string;
  type: string;
  status: string;
  total: number | null;
  processed: number;
  created: number;
  updated: number;
  failed: number;
  payload: string | null;
  errors: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

// ---- statistics (counters kept as events are written) ----

export interface CountersTable {
  account_id: string;
  scope: string; // account | transmission | mailing | sending_domain | recipient_domain | label
  scope_id: string; // '' for the account scope
  day: string; // YYYY-MM-DD, UTC
  metric: string;
  value: number;
}

export interface LinkClicksTable {
  account_id: string;
  scope: string; // transmission | mailing
  scope_id: string;
  url_hash: string;
  url: string;
  link_index: number;
  clicks: number;
  unique_clicks: number;
}

export interface EngagementFirstsTable {
  message_id: string;
  kind: string; // open | click | click:<url hash>
  account_id: string;
  created_at: number;
}

// ---- mailings ----

export interface MailingsTable {
  id: Generated<number>;
  account_id: string;
  name: string;
  type: string; // standard | optIn | optOut | trigger | birthday
  status: string; // draft | scheduled | sending | paused | sent | cancelled
  sender_name: string | null;
  sender_email: string | null;
  reply_to: string | null;
  subject: string | null;
  preheader: string | null;
  html: string | null;
  text: string | null;
  template_id: string | null;
  language_iso: string | null;
  channel_id: number | null;
  subscriber_group_ids: string; // JSON array of group ids
  tracking_opens: number;
  tracking_clicks: number;
  customer_fields: string; // JSON {fieldId: value}
  scheduled_at: number | null;
  started_at: number | null;
  sent_at: number | null;
  recipient_count: number;
  fanout_cursor: number; // last subscriber id materialized into the outbox
  fanout_done: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  trigger_key: string | null; // trigger mailings: the key POST /triggerTypes/{key}/send names
  created_at: number;
  updated_at: number;
  sandbox: Generated<number>; // 1: sent or scheduled with a sandbox key, its messages are captured
}

// ---- sandbox recipients (/v1/sandbox/recipients) ----

export interface SandboxRecipientsTable {
  id: string;
  account_id: string;
  email: string; // lower-cased
  status: string; // unverified | verified
  consent_nonce: string; // the random part of the consent link (the link adds its HMAC)
  consent_expires_at: number;
  consented_at: number | null;
  created_at: number;
}

// ---- webhooks (both surfaces) ----

export interface WebhooksTable {
  id: Generated<number>;
  account_id: string;
  surface: string; // transactional | marketing
  name: string;
  target: string;
  events: string; // JSON array of the surface's event names
  auth_user: string | null;
  auth_password: string | null; // kept as given: it is sent with every delivery
  secret: string;
  active: number;
  cursor: number; // last event id handed to a batch
  lease_owner: string | null;
  lease_expires_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookBatchesTable {
  id: string; // the batchId receivers see
  webhook_id: number;
  account_id: string;
  events: string; // JSON array, frozen at creation
  event_count: number;
  retry_count: number;
  status: string; // pending | delivered | failed
  next_attempt_at: number;
  first_attempt_at: number | null;
  last_attempt_at: number | null;
  created_at: number;
}

export interface WebhookAttemptsTable {
  id: Generated<number>;
  webhook_id: number;
  account_id: string;
  batch_id: string;
  retry_count: number;
  event_count: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  attempted_at: number;
}

/** One row (id 1): bumped by SQLite triggers on every write to subscribers or their custom values. */
export interface SubscriberGenerationTable {
  id: number;
  n: number;
}

export interface Database {
  subscriber_generation: SubscriberGenerationTable;
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  transmission_mime: TransmissionMimeTable;
  transmissions: TransmissionsTable;
  messages: MessagesTable;
  message_raw: MessageRawTable;
  events: EventsTable;
  templates: TemplatesTable;
  sending_domains: SendingDomainsTable;
  mta_sts_policies: MtaStsPoliciesTable;
  suppressions: SuppressionsTable;
  soft_bounce_streaks: SoftBounceStreaksTable;
  idempotency_keys: IdempotencyKeysTable;
  settings: SettingsTable;
  account_usage: AccountUsageTable;
  sandbox_recipients: SandboxRecipientsTable;
  channels: ChannelsTable;
  subscribers: SubscribersTable;
  subscriber_channels: SubscriberChannelsTable;
  customer_fields: CustomerFieldsTable;
  subscriber_field_values: SubscriberFieldValuesTable;
  subscriber_groups: SubscriberGroupsTable;
  subscriber_group_members: SubscriberGroupMembersTable;
  blacklist: BlacklistTable;
  jobs: JobsTable;
  mailings: MailingsTable;
  counters: CountersTable;
  link_clicks: LinkClicksTable;
  engagement_firsts: EngagementFirstsTable;
  webhooks: WebhooksTable;
  webhook_batches: WebhookBatchesTable;
  webhook_attempts: WebhookAttemptsTable;
  inbound_reports: InboundReportsTable;
  dashboard_users: DashboardUsersTable;
  dashboard_sessions: DashboardSessionsTable;
  dashboard_sign_in_links: DashboardSignInLinksTable;
}

/**
 * A message that arrived at the return path (bounce, complaint, auto-reply, mailto unsubscribe, or
 * anything else), kept for inspection with what was made of it. account_id is null when it could
 * not be matched to a message.
 */
export interface InboundReportsTable {
  id: string;
  account_id: string | null;
  /** bounce | complaint | auto_reply | unsubscribe | unknown */
  kind: string;
  /** dsn | text | arf | feedback-loop | auto-reply | mailto | unknown */
  format: string;
  /** matched (events recorded), unmatched (no message found), ignored (nothing to record) */
  outcome: string;
  /** The first outbox message it was matched to. */
  message_id: string | null;
  mail_from: string;
  rcpt_to: string;
  subject: string | null;
  /** JSON: the parsed report and, per recipient, the message and event it led to. */
  details: string;
  /** The message as received, cut at a bound (raw_bytes says how long it was). */
  raw: string;
  raw_bytes: number;
  created_at: number;
}

export interface DashboardUsersTable {
  id: string;
  account_id: string;
  email: string;
  password_hash: string;
  created_at: number;
}

export interface DashboardSessionsTable {
  token_hash: string;
  account_id: string;
  api_key_id: string | null;
  user_id: string | null;
  csrf_token: string;
  created_at: number;
  expires_at: number;
}

export interface DashboardSignInLinksTable {
  token_hash: string;
  api_key_id: string;
  created_at: number;
  expires_at: number;
}
