// The subscriber field list and the lists derived from it: what `search`, `sorting`, the CSV export
// and the CSV import accept, as the marketing spec states them.
import { describe, expect, it } from 'vitest';
import {
  SUBSCRIBER_EXPORT_FIELDS,
  SUBSCRIBER_IMPORT_FIELDS,
  SUBSCRIBER_SEARCH_COLUMNS,
  SUBSCRIBER_SEARCH_FIELDS,
  SUBSCRIBER_SORTABLE_FIELDS,
} from '../../src/domain/subscriber-fields.ts';

describe('subscriber fields', () => {
  it('searches email lower-cased, dates by type, and maps every searchable field to its column', () => {
    expect(SUBSCRIBER_SEARCH_FIELDS.email).toEqual({ type: 'string', lowercase: true });
    expect(SUBSCRIBER_SEARCH_FIELDS.birthday).toEqual({ type: 'date' });
    expect(SUBSCRIBER_SEARCH_FIELDS.lastClickedAt).toEqual({ type: 'datetime' });
    expect(SUBSCRIBER_SEARCH_FIELDS.street).toBeUndefined();
    expect(Object.keys(SUBSCRIBER_SEARCH_COLUMNS)).toEqual(Object.keys(SUBSCRIBER_SEARCH_FIELDS));
    expect(SUBSCRIBER_SEARCH_COLUMNS.statusAddition).toBe('subscribers.status_addition');
  });

  it('sorts by searchable fields only, but not by statusAddition', () => {
    for (const f of SUBSCRIBER_SORTABLE_FIELDS) expect(SUBSCRIBER_SEARCH_FIELDS[f], f).toBeDefined();
    expect(SUBSCRIBER_SORTABLE_FIELDS).not.toContain('statusAddition');
  });

  it('exports the columns in the published order, and imports no status, channels or opt-in sending', () => {
    expect(SUBSCRIBER_EXPORT_FIELDS.slice(0, 4)).toEqual(['id', 'email', 'status', 'statusAddition']);
    expect(SUBSCRIBER_EXPORT_FIELDS.slice(-3)).toEqual(['channels', 'createdAt', 'updatedAt']);
    expect(SUBSCRIBER_EXPORT_FIELDS).not.toContain('reference');
    for (const f of ['status', 'statusAddition', 'channels', 'optInSent', 'optInSentAt', 'id'])
      expect(SUBSCRIBER_IMPORT_FIELDS as readonly string[]).not.toContain(f);
    expect(SUBSCRIBER_IMPORT_FIELDS).toContain('reference');
  });
});
