// Marketing set-up written straight into the store, for tests that need a custom field or a
// channel to exist but do not test how one is made (the routes that make them have their own tests).
import type { Insertable, Kysely } from 'kysely';
import type { ChannelsTable, Database } from '../../src/store/schema.ts';

type ChannelValues = Omit<Insertable<ChannelsTable>, 'id' | 'account_id' | 'created_at' | 'updated_at'>;

/** A subscriber custom field (fieldType 1) of value `type`, offered for import and export. */
export async function insertCustomerField(
  db: Kysely<Database>,
  accountId: string,
  type: number,
  opts: { exportable?: number; now?: number } = {},
): Promise<number> {
  const now = opts.now ?? Date.now();
  const row = await db
    .insertInto('customer_fields')
    .values({
      account_id: accountId,
      field_type: 1,
      type,
      is_available_for_import: 1,
      is_available_for_export: opts.exportable ?? 1,
      is_editable: 1,
      translations: '{}',
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** A channel with no sender of its own, in German unless `values` says otherwise. */
export async function insertChannel(
  db: Kysely<Database>,
  accountId: string,
  values: Partial<ChannelValues> & { name: string },
  now = Date.now(),
): Promise<number> {
  const row = await db
    .insertInto('channels')
    .values({
      account_id: accountId,
      sender_name: null,
      sender_email: null,
      reply_to: null,
      language_iso: 'de',
      color: null,
      ...values,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}
