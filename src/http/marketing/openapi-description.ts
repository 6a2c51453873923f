// The marketing OpenAPI document's description: the conventions of the surface (authentication,
// limits, dates, pagination, search and sorting) and the tables a client needs, generated from the
// code that enforces them (error codes, statuses, the filter and sort whitelists).
import type { Config } from '../../config.ts';
import { ALL_CONDITIONS, DEFAULT_LIMIT, MAX_LIMIT, type FieldWhitelist } from '../../domain/query-grammar.ts';
import { STATUS_TABLE } from '../../domain/subscriber-status.ts';
import { SUBSCRIBER_SEARCH, SUBSCRIBER_SORTABLE } from '../../services/subscriber-search.ts';
import { GROUP_SEARCH, GROUP_SORTABLE } from '../../services/subscriber-groups.ts';
import { BLACKLIST_SEARCH, BLACKLIST_SORTABLE } from '../../services/blacklist.ts';
import { CUSTOMER_FIELD_SEARCH, CUSTOMER_FIELD_SORTABLE } from '../../services/customer-fields.ts';
import { marketingErrorCodeTable } from './errors.ts';

export function statusTable(): string {
  const rows = STATUS_TABLE.map(
    (r) =>
      `| ${r.status} | ${r.meaning} | ${r.statusAddition.map((a) => (a === null ? 'null' : String(a))).join(', ')} |`,
  );
  return ['| status | meaning | statusAddition |', '|---|---|---|', ...rows].join('\n');
}

const ADDITIONS = '`statusAddition`: 1 opt-in pending, 2 unsubscribed, 3 manual, 4 spam complaint, 5 hard bounce.';

export function whitelistTable(whitelist: FieldWhitelist, sortable: readonly string[]): string {
  const rows = Object.entries(whitelist).map(([field, spec]) => {
    const name = field === 'customerFields.*' ? 'customerFields.<id>' : field;
    const type = field === 'customerFields.*' ? "the custom field's type" : spec.type;
    const conditions =
      spec.conditions ??
      (field === 'customerFields.*'
        ? null
        : spec.type === 'string'
          ? ALL_CONDITIONS
          : ALL_CONDITIONS.filter((c) => c !== 'like'));
    const allowed = conditions
      ? conditions.map((c) => `\`${c}\``).join(' ')
      : '`=` `>` `>=` `<` `<=`, and `like` for text fields';
    return `| ${name} | ${type} | ${allowed} | ${sortable.includes(field) ? 'yes' : 'no'} |`;
  });
  const extraSortable = sortable.filter((f) => !Object.hasOwn(whitelist, f));
  const table = ['| field | type | search conditions | sortable |', '|---|---|---|---|', ...rows].join('\n');
  return extraSortable.length ? `${table}\n\nAlso sortable: ${extraSortable.join(', ')}.` : table;
}

export function marketingDescription(config: Config): string {
  const rate = config.rateLimitPerMinute;
  const concurrency = config.concurrencyLimit;
  return [
    'mail2many-compatible marketing API: subscribers, groups, custom fields, the blacklist and jobs. Base path ' +
      '`/api/v1`.',
    '',
    '## Conventions',
    '',
    '- JSON in and out: send `Content-Type: application/json` and `Accept: application/json` (a body in another ' +
      'format is a 415); the CSV import takes `text/csv`.',
    '- Authentication: HTTP Basic with any user name and the API key as password (`curl --user anystring:KEY`); ' +
      '`Authorization: Bearer KEY` and `Authorization: KEY` work too. Start with `GET /api/v1/whoami`.',
    `- Rate limits per API key: ${rate ? `${rate} requests per minute` : 'no request limit'} and ` +
      `${concurrency ? `${concurrency} concurrent requests` : 'no concurrency limit'}.` +
      ' Every authenticated response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`, ' +
      '`X-ConcurrencyLimit-Limit` and `X-ConcurrencyLimit-Remaining`;' +
      ' a 429 adds `Retry-After` (seconds) and `X-RateLimit-Reset` (epoch seconds) and has one of these bodies:',
    '  `{"status":"error","code":429,"message":"Too many requests. Please slow ' +
      'down.","error":"RATE_LIMIT_EXCEEDED","statusCode":429}`',
    `  \`{"status":"error","code":429,"message":"Too many concurrent requests. Please wait for existing requests to ` +
      `complete.","error":"CONCURRENT_LIMIT_EXCEEDED","statusCode":429,` +
      `"concurrencyLimit":${concurrency || 10},"remaining":0}\``,
    '- Brute-force protection per client IP, counted over 60 minutes: after 5 failed authentications a 30 s lock ' +
      '(then 3 more tries), after 8 → 60 s, 9 → 120 s, 10 → 5 min, 11 → 10 min, 12 and up → 5 more minutes each, ' +
      'never more than one hour; the count starts again after 60 minutes without failures. A locked client gets 429 ' +
      'with code 1100 and `Retry-After`. Only failures on this API count: wrong keys on the transactional API ' +
      '(`/v1`) or SMTP lock those, not this one.',
    '- Envelope: one resource is `{"data":{…}}`, a list `{"data":[…],"meta":{"pagination":{…}}}`; every object ' +
      'carries `objectType`.',
    '- Dates: `YYYY-MM-DD HH:MM:SS` in UTC, both ways; date-only fields (birthday) are `YYYY-MM-DD`.',
    `- Pagination: \`page\` (1-based, default 1) and \`limit\` (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}); ` +
      `\`meta.pagination\` = {total, count, perPage, currentPage, totalPages, links:{next, previous}} with full ` +
      `URLs or "".`,
    '- `search`: a URL-encoded JSON array of objects; objects are ANDed, an array of values ORed; a value may be ' +
      '`{"condition": C, "value": V}` with C one of ' +
      ALL_CONDITIONS.map((c) => `\`${c}\``).join(', ') +
      ' (`=` by default). Example: `search=[{"email":{"condition":"like","value":"%example.com%"}}]`. An unknown ' +
      'field or condition is a 422 with code 1002.',
    '- `sorting`: a URL-encoded JSON array of `{"field":"asc"|"desc"}`, applied in order; default `id asc`.',
    '- Write endpoints for many items take at most 1,000 per request; larger files go through `POST ' +
      '/api/v1/subscribers/import`.',
    '',
    '## Subscriber status',
    '',
    statusTable(),
    '',
    ADDITIONS +
      ' Leaving status 3, or archiving a ready subscriber, needs the matching advanced permission of the key (else ' +
      '423, code 1025).',
    '',
    '## Search and sorting fields',
    '',
    '### Subscribers (GET /subscribers, GET /subscribers/export, group members, dynamic group conditions)',
    '',
    whitelistTable(SUBSCRIBER_SEARCH, SUBSCRIBER_SORTABLE),
    '',
    '### Subscriber groups',
    '',
    whitelistTable(GROUP_SEARCH, GROUP_SORTABLE),
    '',
    '### Customer fields',
    '',
    whitelistTable(CUSTOMER_FIELD_SEARCH, CUSTOMER_FIELD_SORTABLE),
    '',
    '### Blacklist',
    '',
    whitelistTable(BLACKLIST_SEARCH, BLACKLIST_SORTABLE),
    '',
    '## Errors',
    '',
    'Body: `{"status":"error","code":1002,"message":"The given data was invalid.","errors":{"email":["The email must ' +
      'be a valid email address."]},"statusCode":422}`; `errors` is `[]` when no field is to blame.',
    '',
    marketingErrorCodeTable(),
  ].join('\n');
}
