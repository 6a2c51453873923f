// Every call the dashboard makes goes to Posthorn's own API (/v1, /api/v1) with the session
// cookie and the session's CSRF token in a header; /dashboard-api only signs in and out.

let csrfToken: string | null = null;

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Session {
  csrfToken: string;
  expiresAt: number;
  signedInWith: 'key' | 'user';
  name: string;
  accountId: number;
  permissions: string[];
}

/** The error text of either API dialect (/v1's errors[], /api/v1's message). */
function errorMessage(body: unknown, status: number): string {
  const b = body as { message?: string; errors?: Array<{ description?: string }> } | null;
  return b?.errors?.[0]?.description ?? b?.message ?? `request failed (${status})`;
}

async function request(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (csrfToken) headers.set('x-csrf-token', csrfToken);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const response = await fetch(path, { ...init, headers, body, credentials: 'same-origin' });
  if (!response.ok) {
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    if (response.status === 401) onSignedOut?.();
    throw new ApiError(response.status, errorMessage(parsed, response.status));
  }
  return response;
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const response = await request(path, init);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export async function apiText(path: string): Promise<string> {
  return (await request(path)).text();
}

let onSignedOut: (() => void) | null = null;
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

export async function currentSession(): Promise<Session | null> {
  const response = await fetch('/dashboard-api/session', { credentials: 'same-origin' });
  if (!response.ok) return null;
  const session = (await response.json()) as Session;
  csrfToken = session.csrfToken;
  return session;
}

export async function signIn(
  credentials: { apiKey: string } | { email: string; password: string } | { token: string },
) {
  csrfToken = null;
  const session = await api<Session>('/dashboard-api/session', { method: 'POST', json: credentials });
  csrfToken = session.csrfToken;
  return session;
}

export async function signOut(everywhere: boolean): Promise<void> {
  await api(everywhere ? '/dashboard-api/sessions' : '/dashboard-api/session', { method: 'DELETE' });
  csrfToken = null;
}

/** Query strings without the empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : '';
}

/** The session's CSRF token, for the few requests made without api() (downloads). */
export const csrf = () => csrfToken;
