// The permissions an API key can hold. Ids are stable slugs (stored with each key); `number` is the
// integer id Mailtarget's contract shows for a permission (GET /v1/permission, permissionIds of
// POST /v1/api-key): never renumber one, add new permissions with the next free number.
export const PERMISSIONS = [
  { id: 'send_api', number: 1, name: 'Send via API', detail: 'Send transmissions through the HTTP API' },
  { id: 'send_smtp', number: 2, name: 'Send via SMTP', detail: 'Submit mail through the SMTP injection server' },
  { id: 'templates', number: 3, name: 'Templates', detail: 'Create, read, change and delete templates' },
  { id: 'sending_domains', number: 4, name: 'Sending Domains', detail: 'Manage sending domains and their DNS records' },
  { id: 'suppressions', number: 5, name: 'Suppressions', detail: 'Read and manage the suppression list' },
  { id: 'webhooks', number: 6, name: 'Webhooks', detail: 'Manage webhooks' },
  { id: 'analytics', number: 7, name: 'Analytics', detail: 'Read transmissions, messages, events and statistics' },
  { id: 'api_keys', number: 8, name: 'API Keys', detail: 'Create, change and revoke API keys' },
  { id: 'sub_accounts', number: 9, name: 'Sub-accounts', detail: 'Manage sub-accounts' },
  { id: 'subscribers', number: 10, name: 'Subscribers', detail: 'Manage subscribers (marketing API)' },
  {
    id: 'subscriber_groups',
    number: 11,
    name: 'Subscriber Groups',
    detail: 'Manage subscriber groups (marketing API)',
  },
  { id: 'mailings', number: 12, name: 'Mailings', detail: 'Manage and send mailings (marketing API)' },
  // The marketing key toggles ("advanced permissions") for status changes and trigger mailings.
  {
    id: 'subscribers_reactivate_unsubscribed',
    number: 13,
    name: 'Reactivate unsubscribed',
    detail: 'Set an unsubscribed subscriber back to ready',
  },
  {
    id: 'subscribers_reactivate_manual',
    number: 14,
    name: 'Reactivate manual',
    detail: 'Set a manually archived (or hard-bounced) subscriber back to ready',
  },
  {
    id: 'subscribers_reactivate_spam',
    number: 15,
    name: 'Reactivate spam complaint',
    detail: 'Set a subscriber archived for a spam complaint back to ready',
  },
  { id: 'subscribers_archive', number: 16, name: 'Archive', detail: 'Archive a ready subscriber through the API' },
  {
    id: 'unknown_recipients',
    number: 17,
    name: 'Unknown recipients',
    detail: 'Send trigger mailings to addresses that are not subscribers',
  },
] as const;

export type PermissionId = (typeof PERMISSIONS)[number]['id'];

export const ALL_PERMISSIONS: PermissionId[] = PERMISSIONS.map((p) => p.id);

const BY_ID = new Map<string, PermissionId>(PERMISSIONS.map((p) => [p.id, p.id]));
const BY_NAME = new Map<string, PermissionId>(PERMISSIONS.map((p) => [p.name.toLowerCase(), p.id]));
const BY_NUMBER = new Map<number, PermissionId>(PERMISSIONS.map((p) => [p.number, p.id]));

/**
 * Accepts a permission by id (`send_api`), by display name (`Send via API`) or by the contract's
 * integer id (`1`, or the number itself); null when unknown.
 */
export function resolvePermission(value: string | number): PermissionId | null {
  if (typeof value === 'number') return BY_NUMBER.get(value) ?? null;
  if (/^\d+$/.test(value)) return BY_NUMBER.get(Number(value)) ?? null;
  return BY_ID.get(value) ?? BY_NAME.get(value.toLowerCase()) ?? null;
}

export function permissionName(id: PermissionId): string {
  return PERMISSIONS.find((p) => p.id === id)!.name;
}

export function permissionEntry(id: PermissionId): (typeof PERMISSIONS)[number] {
  return PERMISSIONS.find((p) => p.id === id)!;
}

/** The permissions in catalogue order, each once: how a key's list is stored, so equal sets store equally. */
export function canonicalPermissions(ids: Iterable<PermissionId>): PermissionId[] {
  const held = new Set(ids);
  return ALL_PERMISSIONS.filter((p) => held.has(p));
}

/**
 * The contract's permissionType of a key: `all` when it holds every permission (what the first
 * start creates), `custom` otherwise.
 */
export type PermissionType = 'all' | 'custom';
export const PERMISSION_TYPES: PermissionType[] = ['all', 'custom'];

export function permissionTypeOf(ids: readonly PermissionId[]): PermissionType {
  return ALL_PERMISSIONS.every((p) => ids.includes(p)) ? 'all' : 'custom';
}

/** The permissions of `wanted` that `holder` does not have (a key cannot grant what it lacks). */
export function permissionsLacking(holder: readonly PermissionId[], wanted: readonly PermissionId[]): PermissionId[] {
  return wanted.filter((p) => !holder.includes(p));
}
