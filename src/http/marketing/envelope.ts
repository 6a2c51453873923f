// The marketing dialect's envelopes: {"data":{…}} for one resource, {"data":[…],"meta":{"pagination":…}}
// for a list, `objectType` on every object, and dates as `YYYY-MM-DD HH:MM:SS` in UTC.
import type { FastifyRequest } from 'fastify';

export function formatDate(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Parses `YYYY-MM-DD HH:MM:SS` (UTC) into epoch ms; null when it is not a real date and time. */
export function parseDateTime(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (!m) return null;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return formatDate(t) === value ? t : null;
}

export function one<T extends object>(objectType: string, obj: T) {
  return { data: { objectType, ...obj } };
}

export interface Pagination {
  total: number;
  count: number;
  perPage: number;
  currentPage: number;
  totalPages: number;
  links: { next: string; previous: string };
}

/** Builds meta.pagination; links are full URLs (PUBLIC_URL + path with page changed) or "". */
export function pagination(
  request: FastifyRequest,
  publicUrl: string,
  total: number,
  count: number,
  page: number,
  limit: number,
): Pagination {
  const totalPages = Math.max(1, Math.ceil(total / limit));
  const link = (p: number) => {
    const url = new URL(request.url, publicUrl);
    url.searchParams.set('page', String(p));
    return `${publicUrl}${url.pathname}${url.search}`;
  };
  return {
    total,
    count,
    perPage: limit,
    currentPage: page,
    totalPages,
    links: {
      next: page < totalPages ? link(page + 1) : '',
      previous: page > 1 ? link(Math.min(page - 1, totalPages)) : '',
    },
  };
}

export function list<T extends object>(objectType: string, rows: T[], meta: Pagination) {
  return { data: rows.map((r) => ({ objectType, ...r })), meta: { pagination: meta } };
}
