// Captured messages (capture mode, sandbox) kept as bytes: `message_raw.raw` is text, which turned
// every byte of an 8-bit message that is not UTF-8 into U+FFFD. New captures are written to `mime`
// (raw stays '' for them); rows written before keep their text, read back as UTF-8.
import type { Kysely, Migration } from 'kysely';
import type { SqlDialect } from './migrations.ts';

export function capturedBytesMigration(dialect: SqlDialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('message_raw')
        .addColumn('mime', dialect === 'postgres' ? 'bytea' : 'blob')
        .execute();
    },
  };
}
