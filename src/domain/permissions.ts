// The permissions an API key can hold. Ids are stable slugs; names are what GET /v1/permission shows.
export const PERMISSIONS = [
  { id: 'send_api', name: 'Send via API', detail: 'Send transmissions through the HTTP API' },
  { id: 'send_smtp', name: 'Send via SMTP', detail: 'Submit mail through the SMTP injection server' },
  { id: 'templates', name: 'Templates', detail: 'Create, read, change and delete templates' },
  { id: 'sending_domains', name: 'Sending Domains', detail: 'Manage sending domains and their DNS records' },
  { id: 'suppressions', name: 'Suppressions', detail: 'Read and manage the suppression list' },
  { id: 'webhooks', name: 'Webhooks', detail: 'Manage webhooks' },
  { id: 'analytics', name: 'Analytics', detail: 'Read transmissions, messages, events and statistics' },
  { id: 'api_keys', name: 'API Keys', detail: 'Create, change and revoke API keys' },
  { id: 'sub_accounts', name: 'Sub-accounts', detail: 'Manage sub-accounts' },
  { id: 'subscribers', name: 'Subscribers', detail: 'Manage subscribers (marketing API)' },
  { id: 'subscriber_groups', name: 'Subscriber Groups', detail: 'Manage subscriber groups (marketing API)' },
  { id: 'mailings', name: 'Mailings', detail: 'Manage and send mailings (marketing API)' },
  // The marketing key toggles ("advanced permissions") for status changes and trigger mailings.
  {
    id: 'subscribers_reactivate_unsubscribed',
    name: 'Reactivate unsubscribed',
    detail: 'Set an unsubscribed subscriber back to ready',
  },
  {
    id: 'subscribers_reactivate_manual',
    name: 'Reactivate manual',
    detail: 'Set a manually archived (or hard-bounced) subscriber back to ready',
  },
  {
    id: 'subscribers_reactivate_spam',
    name: 'Reactivate spam complaint',
    detail: 'Set a subscriber archived for a spam complaint back to ready',
  },
  { id: 'subscribers_archive', name: 'Archive', detail: 'Archive a ready subscriber through the API' },
  {
    id: 'unknown_recipients',
    name: 'Unknown recipients',
    detail: 'Send trigger mailings to addresses that are not subscribers',
  },
] as const;

export type PermissionId = (typeof PERMISSIONS)[number]['id'];

export const ALL_PERMISSIONS: PermissionId[] = PERMISSIONS.map((p) => p.id);

const BY_ID = new Map<string, PermissionId>(PERMISSIONS.map((p) => [p.id, p.id]));
const BY_NAME = new Map<string, PermissionId>(PERMISSIONS.map((p) => [p.name.toLowerCase(), p.id]));

/** Accepts a permission by id (`send_api`) or by display name (`Send via API`); null when unknown. */
export function resolvePermission(value: string): PermissionId | null {
  return BY_ID.get(value) ?? BY_NAME.get(value.toLowerCase()) ?? null;
}

export function permissionName(id: PermissionId): string {
  return PERMISSIONS.find((p) => p.id === id)!.name;
}
