// One webhook delivery over HTTP(S): a signed JSON POST with a 10 s deadline. The target's address
// is checked where the connection is made (the resolver callback), so a host that resolved to a
// public address when the webhook was saved cannot be re-pointed at a private one later (DNS
// rebinding). Redirects are not followed: a 3xx is a failed attempt like any other non-2xx.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import dns from 'node:dns';
import { isPrivateAddress } from '../domain/private-address.ts';
import { SIGNATURE_HEADER, webhookSignature } from '../domain/webhook-signature.ts';

export const WEBHOOK_TIMEOUT_MS = 10_000;

export interface WebhookRequest {
  target: string;
  body: string;
  secret: string;
  authUser: string | null;
  authPassword: string | null;
  allowPrivateTargets: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface WebhookResponse {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

class PrivateTargetError extends Error {
  code = 'EPRIVATETARGET';
}

/** A lookup that refuses private addresses unless they are allowed. */
function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) {
        (callback as (...a: unknown[]) => void)(error);
        return;
      }
      const list = addresses;
      const usable = allowPrivate ? list : list.filter((a) => !isPrivateAddress(a.address));
      if (usable.length === 0) {
        (callback as (...a: unknown[]) => void)(
          new PrivateTargetError(`${hostname} resolves only to private addresses`),
        );
        return;
      }
      if (options.all) {
        (callback as (...a: unknown[]) => void)(null, usable);
        return;
      }
      (callback as (...a: unknown[]) => void)(null, usable[0].address, usable[0].family);
    });
  };
}

export function sendWebhook(req: WebhookRequest): Promise<WebhookResponse> {
  const started = performance.now();
  const done = (statusCode: number | null, error: string | null): WebhookResponse => ({
    ok: statusCode !== null && statusCode >= 200 && statusCode < 300,
    statusCode,
    latencyMs: Math.round(performance.now() - started),
    error,
  });
  let url: URL;
  try {
    url = new URL(req.target);
  } catch {
    return Promise.resolve(done(null, 'the target is not a URL'));
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An IP literal never reaches the resolver: check it here.
  if (net.isIP(host) && !req.allowPrivateTargets && isPrivateAddress(host))
    return Promise.resolve(done(null, `${host} is a private address`));

  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(req.body)),
    'user-agent': 'Posthorn-Webhooks/1',
    [SIGNATURE_HEADER]: webhookSignature(req.secret, req.body, Date.now() / 1000),
  };
  if (req.authUser !== null)
    headers.authorization = `Basic ${Buffer.from(`${req.authUser}:${req.authPassword ?? ''}`).toString('base64')}`;

  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      resolve(done(statusCode, error));
    };
    const request = client.request(
      url,
      { method: 'POST', headers, lookup: guardedLookup(req.allowPrivateTargets), agent: false },
      (res) => {
        // The answer's status is all that counts; its body is read (up to a little) and dropped.
        res.on('data', () => {});
        res.on('end', () =>
          finish(
            res.statusCode ?? null,
            res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300
              ? null
              : `HTTP ${res.statusCode}`,
          ),
        );
        res.on('error', (e) => finish(res.statusCode ?? null, e.message));
      },
    );
    const timeoutMs = req.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
    const timer = setTimeout(() => {
      request.destroy();
      finish(null, `no answer within ${timeoutMs / 1000} s`);
    }, timeoutMs);
    const onAbort = () => {
      request.destroy();
      finish(null, 'aborted: Posthorn is stopping');
    };
    req.signal?.addEventListener('abort', onAbort);
    request.on('error', (e) =>
      finish(
        null,
        e instanceof PrivateTargetError ? e.message : `${(e as NodeJS.ErrnoException).code ?? 'error'}: ${e.message}`,
      ),
    );
    request.end(req.body);
  });
}
