// Column definitions the migrations share.
import type { ColumnDefinitionBuilder } from 'kysely';
import type { SqlDialect } from './migrations.ts';

/**
 * An auto-numbered integer primary key: bigserial on PostgreSQL, INTEGER PRIMARY KEY AUTOINCREMENT
 * on SQLite (the rowid, never reused). Use as `.addColumn('id', idType, id)`.
 */
export function serialIdColumn(dialect: SqlDialect) {
  const isPg = dialect === 'postgres';
  return {
    idType: (isPg ? 'bigserial' : 'integer') as 'integer',
    id: (c: ColumnDefinitionBuilder) => (isPg ? c.primaryKey() : c.primaryKey().autoIncrement()),
  };
}
