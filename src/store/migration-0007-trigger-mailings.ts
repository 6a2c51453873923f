// Trigger mailings: a mailing of type "trigger" carries a key (`trigger_key`) the API sends it by
// (POST /api/v1/triggerTypes/{key}/send). One key may have one live mailing per language, so the
// same trigger exists in several languages; "live" = sending (active) or paused.
// A trigger mailing goes to the same subscriber once per trigger, not once per mailing: the unique
// (mailing_id, subscriber_id) index of 0003 now covers only fan-out messages (bulk, priority 10);
// trigger messages are priority 0, like every mail a person is waiting for.
import { sql, type Kysely, type Migration } from 'kysely';

export function triggerMailingsMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('mailings').addColumn('trigger_key', 'text').execute();
      await sql`CREATE INDEX mailings_account_trigger_key ON mailings (account_id, trigger_key) WHERE trigger_key IS
        NOT NULL`.execute(db);
      await sql`CREATE UNIQUE INDEX mailings_live_trigger ON mailings (account_id, trigger_key,
        COALESCE(language_iso, '')) WHERE trigger_key IS NOT NULL AND status IN ('sending', 'paused')`.execute(db);

      await db.schema.dropIndex('messages_mailing_subscriber').execute();
      await sql`CREATE UNIQUE INDEX messages_mailing_subscriber ON messages (mailing_id, subscriber_id) WHERE
        mailing_id IS NOT NULL AND priority <> 0`.execute(db);
    },
  };
}
