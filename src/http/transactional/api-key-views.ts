// How the transactional surface shows API keys and permissions, in the shapes of Mailtarget's
// published contract (wisnuekas/mailtarget-sentinel, apiconfig-openapi-spec.json: model.Permission,
// model.GetAllApiKeysData, model.GetAPIKeyResponse): integer ids, times in Unix milliseconds.
import { Type } from '@sinclair/typebox';
import { maskedKey } from '../../domain/api-key-format.ts';
import { PERMISSIONS, permissionEntry, permissionTypeOf, type PermissionId } from '../../domain/permissions.ts';
import type { ApiKeyRow } from '../../services/rows.ts';

const UnixMs = (description: string) => Type.Integer({ description: `${description} (Unix milliseconds)` });

export const PermissionSchema = Type.Object({
  id: Type.Integer({ description: 'The integer id to give in permissionIds' }),
  name: Type.String(),
  detail: Type.String(),
});

export const permissionView = (id: PermissionId) => {
  const p = permissionEntry(id);
  return { id: p.number, name: p.name, detail: p.detail };
};

export const allPermissionViews = () => PERMISSIONS.map((p) => permissionView(p.id));

export const ApiKeySummary = Type.Object({
  id: Type.Integer(),
  key: Type.String({
    description:
      'The whole key only in the answer that creates it (the secret is ' +
      'shown once); afterwards its public id and a mask',
  }),
  name: Type.String(),
  permissionType: Type.String({ description: '`all` (every permission) or `custom`' }),
  createdAt: UnixMs('When the key was made'),
  subAccountId: Type.Optional(
    Type.Integer({ description: "The sub-account the key belongs to; absent for the company's own keys" }),
  ),
  subAccountName: Type.Optional(Type.String()),
  environment: Type.String({ description: 'Posthorn extension: `production` or `sandbox`' }),
  lastUsedAt: Type.Optional(UnixMs('Posthorn extension: last use, to the minute; absent when never used')),
});

export const ApiKeyDetail = Type.Composite([
  ApiKeySummary,
  Type.Object({
    companyId: Type.Integer({ description: 'The top-level account (the parent, for a sub-account key)' }),
    companyName: Type.String(),
    allowedIp: Type.String({ description: 'Allowed client IPs and CIDR ranges, comma-separated; empty: any' }),
    permissions: Type.Array(PermissionSchema),
  }),
]);

/** A key in a list (and in a sub-account's detail); `secret` is the whole key, right after creation. */
export function apiKeySummary(row: ApiKeyRow, secret?: string) {
  const permissions = JSON.parse(row.permissions) as PermissionId[];
  const isSub = row.account_parent_id !== null;
  return {
    id: row.int_id,
    key: secret ?? maskedKey(row.id),
    name: row.name,
    permissionType: permissionTypeOf(permissions),
    createdAt: row.created_at,
    ...(isSub ? { subAccountId: row.account_int_id, subAccountName: row.account_name } : {}),
    environment: row.environment,
    ...(row.last_used_at !== null ? { lastUsedAt: row.last_used_at } : {}),
  };
}

export function apiKeyDetail(row: ApiKeyRow, secret?: string) {
  const permissions = JSON.parse(row.permissions) as PermissionId[];
  const isSub = row.account_parent_id !== null;
  return {
    ...apiKeySummary(row, secret),
    companyId: isSub ? row.parent_int_id! : row.account_int_id,
    companyName: isSub ? row.parent_name! : row.account_name,
    allowedIp: (JSON.parse(row.allowed_ips) as string[]).join(','),
    permissions: permissions.map(permissionView),
  };
}
