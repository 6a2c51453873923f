// Small helpers for the marketing-API tests: exact error bodies, Basic auth, and subscribers made
// through the real subscriber routes.
import { expect } from 'vitest';
import type { ApiClient, ApiResponse } from './server.ts';

/** `YYYY-MM-DD HH:MM:SS`, the marketing surface's date format. */
export const DATE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** The surface's own form: HTTP Basic with any user name and the key as password. */
export const basicAuth = (key: string) => 'Basic ' + Buffer.from('anystring:' + key).toString('base64');

export const INVALID = 'The given data was invalid.';

/** Laravel's summary of a failed validation: the first field error, then " (and N more error[s])". */
export function laravelSummary(errors: Record<string, string[]>): string {
  const all = Object.values(errors).flat();
  const more = all.length - 1;
  return more === 0 ? all[0]! : `${all[0]} (and ${more} more error${more === 1 ? '' : 's'})`;
}

const isFieldErrors = (errors: unknown): errors is Record<string, string[]> =>
  typeof errors === 'object' && errors !== null && !Array.isArray(errors) && Object.keys(errors).length > 0;

/** Asserts the whole error body of the seed's dialect. */
export function expectError(
  res: ApiResponse,
  status: number,
  code: number,
  errors: unknown = [],
  message?: string,
): void {
  expect(res.status, res.text).toBe(status);
  expect(res.body).toEqual({
    status: 'error',
    code,
    message:
      message ?? (code === 1002 ? (isFieldErrors(errors) ? laravelSummary(errors) : INVALID) : expect.any(String)),
    errors,
    statusCode: status,
  });
}

export const expectValidation = (res: ApiResponse, errors: Record<string, string[]>, status = 422) =>
  expectError(res, status, 1002, errors);

export function expectNotFound(res: ApiResponse, message: string): void {
  expectError(res, 404, 1020, [], message);
}

export const search = (value: unknown) => encodeURIComponent(JSON.stringify(value));

/** Creates a subscriber through POST /api/v1/subscribers; its id. */
export async function createSubscriber(api: ApiClient, body: Record<string, unknown>): Promise<number> {
  const res = await api.post('/api/v1/subscribers', body);
  expect(res.status, res.text).toBe(201);
  return res.body.data.id as number;
}

export async function updateSubscriber(api: ApiClient, id: number, body: Record<string, unknown>): Promise<void> {
  const res = await api.put(`/api/v1/subscribers/${id}`, body);
  expect(res.status, res.text).toBe(200);
}

/** Erases a subscriber (DELETE keeps an anonymous tombstone). */
export async function eraseSubscriber(api: ApiClient, id: number): Promise<void> {
  const res = await api.delete(`/api/v1/subscribers/${id}`);
  expect(res.status, res.text).toBe(204);
}

/** Creates many subscribers in one POST /api/v1/subscribers/bulk (≤ 1,000); their ids in order. */
export async function bulkSubscribers(api: ApiClient, items: Array<Record<string, unknown>>): Promise<number[]> {
  const res = await api.post('/api/v1/subscribers/bulk', { subscribers: items });
  expect(res.status, res.text.slice(0, 500)).toBeLessThan(300);
  const results = res.body.data as Array<{ id: number; status: string }>;
  expect(results.every((r) => r.status === 'created')).toBe(true);
  return results.map((r) => r.id);
}
