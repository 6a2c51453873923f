// The list queries bench/marketing-list.ts times over HTTP, and the SQL the store runs for them:
// the statements are captured from the store's own functions (src/store/subscribers.ts
// countSubscribers / listSubscribers) through Kysely's query log, on a read-only connection, so
// the plans shown are those of the server's SQL, not a hand-written copy.
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../../src/store/schema.ts';
import { countSubscribers, listSubscribers } from '../../src/store/subscribers.ts';
import { parsePaging, parseSearch, parseSorting } from '../../src/domain/query-grammar.ts';
import {
  SUBSCRIBER_COLUMNS,
  SUBSCRIBER_LOWER_CASED_FIELDS,
  SUBSCRIBER_SEARCH,
  SUBSCRIBER_SORTABLE,
  subscriberCustomField,
} from '../../src/services/subscriber-search.ts';

export interface ListQuery {
  name: string;
  search?: string;
  sorting?: string;
  page?: string;
  limit?: string;
  path: string;
}

function listQuery(
  name: string,
  params: { search?: string; sorting?: string; page?: string; limit?: string },
): ListQuery {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) qs.set(k, v);
  return { name, ...params, path: `/api/v1/subscribers?${qs}` };
}

export const listQueries: ListQuery[] = [
  listQuery('lang=de, createdAt desc, limit 100', {
    search: '[{"languageIso":"de"}]',
    sorting: '[{"createdAt":"desc"}]',
    limit: '100',
  }),
  listQuery('city=Berlin (default id asc, limit 10)', { search: '[{"city":"Berlin"}]' }),
  listQuery('city=Berlin, limit 100', { search: '[{"city":"Berlin"}]', limit: '100' }),
  listQuery("email like 'anna%', limit 100", {
    search: '[{"email":{"condition":"like","value":"anna%"}}]',
    limit: '100',
  }),
  listQuery('gender in (1,2) AND lang=en, lastname asc, limit 100', {
    search: '[{"genderId":[1,2]},{"languageIso":"en"}]',
    sorting: '[{"lastname":"asc"}]',
    limit: '100',
  }),
  listQuery('no filter, page 50, limit 100', { page: '50', limit: '100' }),
  listQuery('no filter, page 5000, limit 100', { page: '5000', limit: '100' }),
];

export interface CapturedStatement {
  name: string;
  sql: string;
  params: unknown[];
}

/**
 * The COUNT and the page SELECT the store runs for `q`, captured from the store functions on a
 * read-only connection to `dbFile` (the only account in a bench database is the bench's).
 */
export async function captureStatements(dbFile: string, q: ListQuery): Promise<CapturedStatement[]> {
  const sqlite = new SQLite(dbFile, { readonly: true });
  const captured: Array<{ sql: string; params: unknown[] }> = [];
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: sqlite }),
    log: (event) => {
      captured.push({ sql: event.query.sql, params: [...event.query.parameters] });
    },
  });
  try {
    const account = sqlite.prepare('select account_id as id from subscribers limit 1').get() as { id: string };
    const filter = {
      accountId: account.id,
      dialect: 'sqlite' as const,
      search: parseSearch(q.search, SUBSCRIBER_SEARCH),
      columns: SUBSCRIBER_COLUMNS,
      customField: subscriberCustomField,
      lowerCasedFields: SUBSCRIBER_LOWER_CASED_FIELDS,
    };
    await countSubscribers(db as never, filter);
    await listSubscribers(
      db as never,
      filter,
      parseSorting(q.sorting, SUBSCRIBER_SORTABLE),
      parsePaging(q.page, q.limit),
    );
  } finally {
    await db.destroy();
  }
  return [
    { name: `${q.name}: COUNT`, ...captured[0]! },
    { name: `${q.name}: page`, ...captured[1]! },
  ];
}
