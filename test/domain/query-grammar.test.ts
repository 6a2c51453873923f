import { describe, expect, it } from 'vitest';
import {
  GrammarError,
  parseInclude,
  parsePaging,
  parseSearch,
  parseSorting,
  type FieldType,
  type FieldWhitelist,
  type GrammarParam,
} from '../../src/domain/query-grammar.ts';

const whitelist: FieldWhitelist = {
  id: { type: 'integer' },
  email: { type: 'string', lowercase: true },
  languageIso: { type: 'string', conditions: ['='] },
  firstname: { type: 'string' },
  genderId: { type: 'integer' },
  birthday: { type: 'date' },
  createdAt: { type: 'datetime' },
  optInSent: { type: 'boolean' },
  balance: { type: 'decimal' },
  // The wildcard's type is ignored: the resolver gives each custom field's type.
  'customerFields.*': { type: 'string' },
};

const customTypes: Record<number, FieldType> = { 3: 'string', 7: 'integer', 9: 'boolean' };
const options = { customerFieldType: (id: number) => customTypes[id] };

const search = (value: unknown) =>
  parseSearch(typeof value === 'string' ? value : JSON.stringify(value), whitelist, options);

/** Runs `fn`, expects a GrammarError and returns it. */
function grammarError(fn: () => unknown): GrammarError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GrammarError);
    return err as GrammarError;
  }
  throw new Error('expected a GrammarError, got none');
}

function expectError(fn: () => unknown, param: GrammarParam, path: string, message: RegExp): GrammarError {
  const err = grammarError(fn);
  expect(err.param).toBe(param);
  expect(err.path).toBe(path);
  expect(err.message).toMatch(message);
  expect(err.message.startsWith(`${path}: `)).toBe(true);
  return err;
}

describe('parseSearch: the grammar', () => {
  it('treats a missing, empty or blank search and [] as no filter', () => {
    expect(parseSearch(undefined, whitelist)).toEqual({ clauses: [] });
    expect(parseSearch('', whitelist)).toEqual({ clauses: [] });
    expect(parseSearch('  ', whitelist)).toEqual({ clauses: [] });
    expect(parseSearch('[]', whitelist)).toEqual({ clauses: [] });
  });

  it('parses the example of the spec into ANDed clauses with ORed predicates', () => {
    const ast = search(
      '[{"languageIso":"de"},{"genderId":[1,2]},{"email":{"condition":"like","value":"%@atrivio.de"}}]',
    );
    expect(ast).toEqual({
      clauses: [
        { field: 'languageIso', type: 'string', customFieldId: null, anyOf: [{ condition: '=', value: 'de' }] },
        {
          field: 'genderId',
          type: 'integer',
          customFieldId: null,
          anyOf: [
            { condition: '=', value: 1 },
            { condition: '=', value: 2 },
          ],
        },
        { field: 'email', type: 'string', customFieldId: null, anyOf: [{ condition: 'like', value: '%@atrivio.de' }] },
      ],
    });
  });

  it('ANDs several keys of one object as separate clauses', () => {
    const ast = search([{ languageIso: 'de', genderId: 2 }]);
    expect(ast.clauses.map((c) => c.field)).toEqual(['languageIso', 'genderId']);
  });

  it('accepts every condition, case-insensitively, and a missing condition as "="', () => {
    const ast = search([
      {
        genderId: [
          { condition: '>', value: 1 },
          { condition: '>=', value: 1 },
          { condition: '<', value: 3 },
          { condition: '<=', value: 3 },
        ],
      },
      { firstname: { condition: 'LIKE', value: 'an%' } },
      { genderId: { value: 2 } },
      { genderId: [1, { condition: '>', value: 2 }] },
    ]);
    expect(ast.clauses[0].anyOf.map((p) => p.condition)).toEqual(['>', '>=', '<', '<=']);
    expect(ast.clauses[1].anyOf).toEqual([{ condition: 'like', value: 'an%' }]);
    expect(ast.clauses[2].anyOf).toEqual([{ condition: '=', value: 2 }]);
    expect(ast.clauses[3].anyOf).toEqual([
      { condition: '=', value: 1 },
      { condition: '>', value: 2 },
    ]);
  });

  it('keeps null as IS NULL, also as one alternative of an OR', () => {
    const ast = search([{ birthday: null }, { genderId: [1, null] }, { email: { condition: '=', value: null } }]);
    expect(ast.clauses[0].anyOf).toEqual([{ condition: '=', value: null }]);
    expect(ast.clauses[1].anyOf).toEqual([
      { condition: '=', value: 1 },
      { condition: '=', value: null },
    ]);
    expect(ast.clauses[2].anyOf).toEqual([{ condition: '=', value: null }]);
  });

  it('rejects null with any condition but "="', () => {
    expectError(
      () => search([{ genderId: { condition: '>', value: null } }]),
      'search',
      'search[0].genderId.value',
      /null can only be used with '='/,
    );
  });

  it('lower-cases values of fields marked lowercase', () => {
    expect(search([{ email: 'Florian@Atrivio.DE' }]).clauses[0].anyOf[0].value).toBe('florian@atrivio.de');
    expect(search([{ firstname: 'Anna' }]).clauses[0].anyOf[0].value).toBe('Anna');
  });
});

describe('parseSearch: values by type', () => {
  const value = (field: string, v: unknown) => search([{ [field]: v }]).clauses[0].anyOf[0].value;

  it('integer: numbers and numeric strings become numbers; others are refused', () => {
    expect(value('genderId', 2)).toBe(2);
    expect(value('genderId', '2')).toBe(2);
    expect(value('genderId', '-15')).toBe(-15);
    for (const bad of [1.5, '1.5', 'two', '', true, 2 ** 53, '1e3', ' 1']) {
      expectError(() => value('genderId', bad), 'search', 'search[0].genderId', /must be an integer/);
    }
  });

  it('string: strings, and finite numbers as text; at most 1000 characters', () => {
    expect(value('firstname', 'Zoë')).toBe('Zoë');
    expect(value('firstname', 80331)).toBe('80331');
    expect(value('firstname', 'x'.repeat(1000))).toHaveLength(1000);
    expectError(() => value('firstname', 'x'.repeat(1001)), 'search', 'search[0].firstname', /at most 1000 characters/);
    expectError(() => value('firstname', true), 'search', 'search[0].firstname', /must be a string/);
  });

  it('date: YYYY-MM-DD of a real day', () => {
    expect(value('birthday', '1990-02-28')).toBe('1990-02-28');
    expect(value('birthday', '2024-02-29')).toBe('2024-02-29');
    for (const bad of [
      '2023-02-29',
      '1990-13-01',
      '1990-1-1',
      '01.02.1990',
      '1990-02-28 10:00:00',
      19900228,
      '0000-01-01',
    ]) {
      expectError(() => value('birthday', bad), 'search', 'search[0].birthday', /YYYY-MM-DD/);
    }
  });

  it('datetime: YYYY-MM-DD HH:MM:SS in UTC becomes epoch milliseconds', () => {
    expect(value('createdAt', '2021-01-22 10:28:00')).toBe(Date.UTC(2021, 0, 22, 10, 28, 0));
    expect(value('createdAt', '1970-01-01 00:00:00')).toBe(0);
    for (const bad of [
      '2021-01-22',
      '2021-01-22T10:28:00',
      '2021-01-22 24:00:00',
      '2021-01-22 10:60:00',
      '2021-02-30 10:00:00',
      1611311280000,
    ]) {
      expectError(() => value('createdAt', bad), 'search', 'search[0].createdAt', /YYYY-MM-DD HH:MM:SS/);
    }
  });

  it('boolean: true/false, 0/1 and their strings', () => {
    expect([true, 1, 'true', '1'].map((v) => value('optInSent', v))).toEqual([true, true, true, true]);
    expect([false, 0, 'false', '0'].map((v) => value('optInSent', v))).toEqual([false, false, false, false]);
    for (const bad of [2, 'yes', ''])
      expectError(() => value('optInSent', bad), 'search', 'search[0].optInSent', /true or false/);
  });

  it('decimal: strings or numbers shaped like -12.50, kept as text', () => {
    expect(value('balance', '-12.50')).toBe('-12.50');
    expect(value('balance', 7)).toBe('7');
    expect(value('balance', 0.25)).toBe('0.25');
    for (const bad of ['1,5', '.5', '5.', '1e3', 1e21, 'abc', true]) {
      expectError(() => value('balance', bad), 'search', 'search[0].balance', /decimal/);
    }
  });

  it('like: only on string fields, only with a string, no dangling escape', () => {
    expectError(
      () => search([{ genderId: { condition: 'like', value: '1%' } }]),
      'search',
      'search[0].genderId.condition',
      /'like' is not allowed for genderId/,
    );
    expectError(
      () => search([{ languageIso: { condition: 'like', value: 'd%' } }]),
      'search',
      'search[0].languageIso.condition',
      /allowed: =/,
    );
    expectError(
      () => search([{ firstname: { condition: 'like', value: 5 } }]),
      'search',
      'search[0].firstname.value',
      /like pattern must be a string/,
    );
    expectError(
      () => search([{ firstname: { condition: 'like', value: 'ab\\' } }]),
      'search',
      'search[0].firstname.value',
      /unescaped backslash/,
    );
    expect(search([{ firstname: { condition: 'like', value: 'ab\\\\' } }]).clauses[0].anyOf[0].value).toBe('ab\\\\');
    expect(search([{ firstname: { condition: 'like', value: '100\\%' } }]).clauses[0].anyOf[0].value).toBe('100\\%');
  });

  it('a whitelist entry can narrow the conditions of a field', () => {
    expectError(
      () => search([{ languageIso: { condition: '>', value: 'de' } }]),
      'search',
      'search[0].languageIso.condition',
      /'>' is not allowed for languageIso/,
    );
  });
});

describe('parseSearch: customer fields', () => {
  it('resolves customerFields.<id> through the caller’s resolver, with that type', () => {
    const ast = search([
      { 'customerFields.7': { condition: '>=', value: '10' } },
      { 'customerFields.3': { condition: 'like', value: '%x%' } },
    ]);
    expect(ast.clauses[0]).toEqual({
      field: 'customerFields.7',
      type: 'integer',
      customFieldId: 7,
      anyOf: [{ condition: '>=', value: 10 }],
    });
    expect(ast.clauses[1]).toMatchObject({
      customFieldId: 3,
      type: 'string',
      anyOf: [{ condition: 'like', value: '%x%' }],
    });
    expect(search([{ 'customerFields.9': 1 }]).clauses[0].anyOf[0].value).toBe(true);
  });

  it('applies the type rules of the resolved type', () => {
    expectError(
      () => search([{ 'customerFields.7': 'many' }]),
      'search',
      'search[0].customerFields.7',
      /must be an integer/,
    );
    expectError(
      () => search([{ 'customerFields.9': { condition: 'like', value: '1' } }]),
      'search',
      'search[0].customerFields.9.condition',
      /not allowed/,
    );
  });

  it('rejects unknown ids, malformed ids, and custom fields on endpoints that do not allow them', () => {
    expectError(
      () => search([{ 'customerFields.4': 'x' }]),
      'search',
      'search[0].customerFields.4',
      /no customer field with id 4/,
    );
    expectError(
      () => search([{ 'customerFields.0': 'x' }]),
      'search',
      'search[0].customerFields.0',
      /not a filterable field/,
    );
    expectError(
      () => search([{ 'customerFields.07': 'x' }]),
      'search',
      'search[0].customerFields.07',
      /not a filterable field/,
    );
    expectError(
      () => search([{ 'customerFields.abc': 'x' }]),
      'search',
      'search[0].customerFields.abc',
      /not a filterable field/,
    );
    expectError(
      () => search([{ 'customerFields.*': 'x' }]),
      'search',
      'search[0].customerFields.*',
      /not a filterable field/,
    );
    expectError(
      () => parseSearch('[{"customerFields.3":"x"}]', { email: { type: 'string' } }, options),
      'search',
      'search[0].customerFields.3',
      /not a filterable field/,
    );
    expectError(
      () => parseSearch('[{"customerFields.3":"x"}]', whitelist),
      'search',
      'search[0].customerFields.3',
      /no customer field with id 3/,
    );
  });
});

describe('parseSearch: robustness', () => {
  it('invalid JSON', () => {
    expectError(() => parseSearch('[{"email":', whitelist), 'search', 'search', /not valid JSON/);
    expectError(() => parseSearch("[{'email':'x'}]", whitelist), 'search', 'search', /not valid JSON/);
  });

  it('not an array', () => {
    for (const raw of ['{"email":"a@b.de"}', '"email"', '42', 'null', 'true']) {
      expectError(() => parseSearch(raw, whitelist), 'search', 'search', /must be a JSON array of objects/);
    }
  });

  it('repeated parameter (an array of strings from the query parser)', () => {
    expectError(() => parseSearch(['[]', '[]'], whitelist), 'search', 'search', /given once/);
  });

  it('an array of non-objects', () => {
    expectError(() => search([{ email: 'a@b.de' }, 'email']), 'search', 'search[1]', /must be an object/);
    expectError(() => search([null]), 'search', 'search[0]', /must be an object/);
    expectError(() => search([[{ email: 'x' }]]), 'search', 'search[0]', /must be an object/);
    expectError(() => search([5]), 'search', 'search[0]', /must be an object/);
  });

  it('empty objects', () => {
    expectError(() => search([{ email: 'x' }, {}]), 'search', 'search[1]', /at least one field/);
  });

  it('unknown fields, listing the filterable ones', () => {
    const err = expectError(
      () => search([{ email: 'x' }, { password: 'x' }]),
      'search',
      'search[1].password',
      /'password' is not a filterable field/,
    );
    expect(err.message).toContain('email, languageIso');
    expect(err.message).toContain('customerFields.<id>');
    expect(err.message).not.toContain('customerFields.*');
  });

  it('unknown conditions', () => {
    expectError(
      () => search([{ genderId: { condition: 'between', value: 1 } }]),
      'search',
      'search[0].genderId.condition',
      /'between' is not a condition/,
    );
    expectError(
      () => search([{ genderId: { condition: '!=', value: 1 } }]),
      'search',
      'search[0].genderId.condition',
      /'!=' is not a condition/,
    );
    expectError(
      () => search([{ genderId: { condition: 'toString', value: 1 } }]),
      'search',
      'search[0].genderId.condition',
      /not a condition/,
    );
    expectError(
      () => search([{ genderId: { condition: 5, value: 1 } }]),
      'search',
      'search[0].genderId.condition',
      /not a condition/,
    );
    expectError(
      () => search([{ email: 'x' }, { email: 'y' }, { email: { condition: 'in', value: 'x' } }]),
      'search',
      'search[2].email.condition',
      /not a condition/,
    );
  });

  it('__proto__, constructor, prototype and other inherited names are unknown fields', () => {
    for (const key of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']) {
      // Written as raw JSON: JSON.parse makes "__proto__" an own key, which an object literal would not.
      expectError(
        () => parseSearch(`[{"${key}":"x"}]`, whitelist, options),
        'search',
        `search[0].${key}`,
        new RegExp(`'${key}' is not a filterable field`),
      );
      expectError(
        () => parseSearch(`[{"${key}":{"condition":"=","value":1}}]`, whitelist, options),
        'search',
        `search[0].${key}`,
        /not a filterable field/,
      );
    }
    // A __proto__ key inside a condition object is an unexpected key, and nothing leaks onto Object.prototype.
    expectError(
      () => parseSearch('[{"genderId":{"condition":"=","value":1,"__proto__":{"polluted":true}}}]', whitelist),
      'search',
      'search[0].genderId.__proto__',
      /unexpected key/,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a whitelist that inherits from a prototype does not expose the prototype’s keys', () => {
    const inherited = Object.create({ secret: { type: 'string' } }) as FieldWhitelist;
    inherited.email = { type: 'string' };
    expectError(
      () => parseSearch('[{"secret":"x"}]', inherited),
      'search',
      'search[0].secret',
      /not a filterable field/,
    );
  });

  it('nesting deeper than the grammar', () => {
    expectError(
      () => search([{ genderId: { condition: '=', value: 1, extra: 2 } }]),
      'search',
      'search[0].genderId.extra',
      /unexpected key/,
    );
    expectError(() => search([{ genderId: { condition: '=' } }]), 'search', 'search[0].genderId.value', /is required/);
    expectError(
      () => search([{ genderId: { condition: '=', value: [1, 2] } }]),
      'search',
      'search[0].genderId.value',
      /single string, number, boolean or null/,
    );
    expectError(
      () => search([{ genderId: { condition: '=', value: { value: 1 } } }]),
      'search',
      'search[0].genderId.value',
      /single/,
    );
    expectError(() => search([{ genderId: [1, [2, 3]] }]), 'search', 'search[0].genderId[1]', /cannot be nested/);
    expectError(
      () => search([{ genderId: [1, { genderId: 2 }] }]),
      'search',
      'search[0].genderId[1].genderId',
      /unexpected key/,
    );
    expectError(
      () => search([{ genderId: [1, { condition: '>', value: [2] }] }]),
      'search',
      'search[0].genderId[1].value',
      /single/,
    );
    expectError(() => search([{ genderId: [] }]), 'search', 'search[0].genderId', /must not be empty/);
    expectError(() => search([{ genderId: {} }]), 'search', 'search[0].genderId.value', /is required/);
  });

  it('deeply nested JSON within the size cap is an error, not a crash', () => {
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    expectError(() => parseSearch(deep, whitelist), 'search', 'search[0]', /must be an object/);
    const deepValue = `[{"email":${'['.repeat(10_000)}${']'.repeat(10_000)}}]`;
    expectError(() => parseSearch(deepValue, whitelist), 'search', 'search[0].email[0]', /cannot be nested/);
  });

  it('refuses raw input over 64 KiB before parsing it, and long string values', () => {
    const mega = `[{"email":"${'a'.repeat(1024 * 1024)}"}]`;
    expectError(() => parseSearch(mega, whitelist), 'search', 'search', /at most 65536 characters/);
    // Over the cap and not even JSON: the size check comes first.
    expectError(() => parseSearch('x'.repeat(65_537), whitelist), 'search', 'search', /at most 65536 characters/);
    expectError(() => search([{ email: 'a'.repeat(1001) }]), 'search', 'search[0].email', /at most 1000 characters/);
    expectError(
      () => search([{ email: { condition: 'like', value: `%${'a'.repeat(1000)}` } }]),
      'search',
      'search[0].email.value',
      /at most 1000 characters/,
    );
  });

  it('echoes at most a short prefix of a huge field name', () => {
    const key = 'k'.repeat(10_000);
    const err = grammarError(() => search([{ [key]: 1 }]));
    expect(err.message.length).toBeLessThan(600);
    expect(err.path.length).toBeLessThan(100);
  });

  it('allows 50 conditions in total and refuses the 51st', () => {
    const fifty = [
      { genderId: Array.from({ length: 30 }, (_, i) => i) },
      ...Array.from({ length: 20 }, () => ({ email: 'x' })),
    ];
    expect(search(fifty).clauses).toHaveLength(21);
    expectError(
      () => search([...fifty, { languageIso: 'de' }]),
      'search',
      'search[21].languageIso',
      /at most 50 conditions/,
    );
    expectError(
      () => search([{ genderId: Array.from({ length: 51 }, (_, i) => i) }]),
      'search',
      'search[0].genderId[50]',
      /at most 50 conditions/,
    );
  });

  it('keeps quotes and SQL fragments as plain values', () => {
    const nasty = ["' OR 1=1 --", '"; DROP TABLE subscribers; --', "Robert'); DROP TABLE students;--", '\\x00', '%_%'];
    for (const v of nasty) {
      expect(search([{ firstname: v }]).clauses[0].anyOf).toEqual([{ condition: '=', value: v }]);
    }
  });
});

describe('parseSorting', () => {
  const sortable = ['id', 'email', 'createdAt', 'genderId', 'firstname', 'lastname'];

  it('defaults to id asc', () => {
    expect(parseSorting(undefined, sortable)).toEqual([{ field: 'id', direction: 'asc' }]);
    expect(parseSorting('', sortable)).toEqual([{ field: 'id', direction: 'asc' }]);
    expect(parseSorting('[]', sortable)).toEqual([{ field: 'id', direction: 'asc' }]);
  });

  it('keeps the order given, case-insensitive directions, and appends id asc as tiebreaker', () => {
    expect(parseSorting('[{"createdAt":"DESC"},{"email":"Asc"}]', sortable)).toEqual([
      { field: 'createdAt', direction: 'desc' },
      { field: 'email', direction: 'asc' },
      { field: 'id', direction: 'asc' },
    ]);
  });

  it('does not append id when it is already listed', () => {
    expect(parseSorting('[{"id":"desc"},{"email":"asc"}]', sortable)).toEqual([
      { field: 'id', direction: 'desc' },
      { field: 'email', direction: 'asc' },
    ]);
  });

  it('allows 5 keys and refuses 6', () => {
    const five = ['email', 'createdAt', 'genderId', 'firstname', 'lastname'].map((f) => ({ [f]: 'asc' }));
    expect(parseSorting(JSON.stringify(five), sortable)).toHaveLength(6);
    expectError(
      () => parseSorting(JSON.stringify([...five, { id: 'asc' }]), sortable),
      'sorting',
      'sorting',
      /at most 5 keys/,
    );
  });

  it('refuses malformed sortings with the path of the offending part', () => {
    expectError(() => parseSorting('[{"createdAt":"desc"', sortable), 'sorting', 'sorting', /not valid JSON/);
    expectError(() => parseSorting('{"createdAt":"desc"}', sortable), 'sorting', 'sorting', /JSON array/);
    expectError(() => parseSorting('["createdAt"]', sortable), 'sorting', 'sorting[0]', /must be an object/);
    expectError(() => parseSorting('[{}]', sortable), 'sorting', 'sorting[0]', /exactly one field/);
    expectError(
      () => parseSorting('[{"createdAt":"desc","email":"asc"}]', sortable),
      'sorting',
      'sorting[0]',
      /exactly one field/,
    );
    expectError(
      () => parseSorting('[{"password":"asc"}]', sortable),
      'sorting',
      'sorting[0].password',
      /not a sortable field.*email, createdAt/,
    );
    expectError(
      () => parseSorting('[{"__proto__":"asc"}]', sortable),
      'sorting',
      'sorting[0].__proto__',
      /not a sortable field/,
    );
    expectError(
      () => parseSorting('[{"constructor":"asc"}]', sortable),
      'sorting',
      'sorting[0].constructor',
      /not a sortable field/,
    );
    expectError(() => parseSorting('[{"email":"up"}]', sortable), 'sorting', 'sorting[0].email', /"asc" or "desc"/);
    expectError(() => parseSorting('[{"email":1}]', sortable), 'sorting', 'sorting[0].email', /"asc" or "desc"/);
    expectError(
      () => parseSorting('[{"email":"asc"},{"email":"desc"}]', sortable),
      'sorting',
      'sorting[1].email',
      /more than once/,
    );
    expectError(
      () => parseSorting(`[{"email":"${'a'.repeat(70_000)}"}]`, sortable),
      'sorting',
      'sorting',
      /at most 65536/,
    );
    expectError(
      () => parseSorting('[{"email":"asc; DROP TABLE x"}]', sortable),
      'sorting',
      'sorting[0].email',
      /"asc" or "desc"/,
    );
  });
});

describe('parsePaging', () => {
  it('defaults to page 1 and limit 10', () => {
    expect(parsePaging(undefined, undefined)).toEqual({ page: 1, limit: 10, offset: 0 });
    expect(parsePaging('', '')).toEqual({ page: 1, limit: 10, offset: 0 });
  });

  it('accepts integer strings and numbers and computes the offset', () => {
    expect(parsePaging('3', '20')).toEqual({ page: 3, limit: 20, offset: 40 });
    expect(parsePaging(2, 1000)).toEqual({ page: 2, limit: 1000, offset: 1000 });
    expect(parsePaging('1', '1')).toEqual({ page: 1, limit: 1, offset: 0 });
    expect(parsePaging('2147483647', '1000')).toEqual({ page: 2147483647, limit: 1000, offset: 2147483646 * 1000 });
  });

  it('refuses out-of-range and non-integer values, naming the parameter', () => {
    for (const bad of [
      '0',
      '-1',
      '1.5',
      'abc',
      ' 2',
      '+2',
      '1e2',
      0,
      1.5,
      '2147483648',
      '99999999999999999999',
      ['1', '2'],
      true,
    ]) {
      expectError(() => parsePaging(bad, undefined), 'page', 'page', /whole number from 1 to 2147483647/);
    }
    for (const bad of ['0', '1001', '-5', '10.0', 'all', 5000, ['10']]) {
      expectError(() => parsePaging(undefined, bad), 'limit', 'limit', /whole number from 1 to 1000/);
    }
  });
});

describe('parseInclude', () => {
  const allowed = ['channels', 'languages', 'subscriberGroups'] as const;

  it('returns the named relations, trimmed and without duplicates', () => {
    expect(parseInclude(undefined, allowed)).toEqual([]);
    expect(parseInclude('', allowed)).toEqual([]);
    expect(parseInclude('channels,languages', allowed)).toEqual(['channels', 'languages']);
    expect(parseInclude(' languages , channels,,languages,', allowed)).toEqual(['languages', 'channels']);
  });

  it('refuses unknown relations, naming the position and the available ones', () => {
    expectError(
      () => parseInclude('channels,secrets', allowed),
      'include',
      'include[1]',
      /'secrets' cannot be included\. Available: channels, languages, subscriberGroups/,
    );
    expectError(() => parseInclude('__proto__', allowed), 'include', 'include[0]', /cannot be included/);
    expectError(() => parseInclude('Channels', allowed), 'include', 'include[0]', /cannot be included/);
    expectError(
      () => parseInclude(['channels', 'languages'], allowed),
      'include',
      'include',
      /single comma-separated list/,
    );
    expectError(() => parseInclude('channels,'.repeat(200), allowed), 'include', 'include', /at most 1000 characters/);
  });
});
