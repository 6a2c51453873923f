// Shared parsing for the marketing list endpoints: `search`, `sorting`, `page` and `limit` through
// the query grammar, with a GrammarError turned into the 422/1002 the surface expects, and path
// ids that are not positive integers treated as unknown resources (404/1020), not as bad input.
import {
  GrammarError,
  parsePaging,
  parseSearch,
  parseSorting,
  type FieldWhitelist,
  type Paging,
  type SearchAst,
  type SortKey,
} from '../domain/query-grammar.ts';
import { ServiceError } from './errors.ts';

export interface ListQuery {
  search?: string;
  sorting?: string;
  page?: string;
  limit?: string;
}

export interface ListParams {
  search: SearchAst;
  sorting: SortKey[];
  paging: Paging;
}

export interface Page<T> {
  total: number;
  rows: T[];
  paging: Paging;
}

/** Runs a grammar parser; a GrammarError becomes ServiceError('invalid') naming its parameter. */
export function grammar<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw asServiceError(error);
  }
}

export async function grammarAsync<T>(parse: () => Promise<T>): Promise<T> {
  try {
    return await parse();
  } catch (error) {
    throw asServiceError(error);
  }
}

function asServiceError(error: unknown): unknown {
  return error instanceof GrammarError ? new ServiceError('invalid', error.message, error.param) : error;
}

export function parsePagingParams(query: ListQuery): Paging {
  return grammar(() => parsePaging(query.page, query.limit));
}

/** search + sorting + paging against one endpoint's whitelists. */
export function parseListParams(query: ListQuery, whitelist: FieldWhitelist, sortable: readonly string[]): ListParams {
  return grammar(() => ({
    search: parseSearch(query.search, whitelist),
    sorting: parseSorting(query.sorting, sortable),
    paging: parsePaging(query.page, query.limit),
  }));
}

const MAX_ID = 2 ** 53 - 1;

/** A path id as a number; anything that cannot be an id of ours is simply not found. */
export function parseId(raw: string, what: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || Number(raw) > MAX_ID) throw new ServiceError('not_found', `${what} not found`);
  return Number(raw);
}
