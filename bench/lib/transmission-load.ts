// Load on the transactional HTTP API shared by the benchmarks that compare runs (scale, peers):
// single-recipient transmissions from autocannon, and DKIM-signed messages queued for a worker.
import autocannon, { type Result } from 'autocannon';
import type { PosthornProcess } from './posthorn-process.ts';
import { FROM_DOMAIN, manyRecipientsBody, singleRecipientBody } from './payload.ts';

/** Sends and answers no rate limit (the benchmarks measure the server, not its limiter). */
export const NO_RATE_LIMITS = { POSTHORN_V1_RATE_PER_SECOND: '0', POSTHORN_V1_RATE_PER_MINUTE: '0' };

/**
 * autocannon on `POST /v1/layang/transmissions` (one recipient; 200 after the commit). `measure`
 * runs after a 3 s warm-up (JIT, pools, statement plans) and before the timed run, and returns what
 * it needs once the run is over (CPU counters read before and after, say).
 */
export async function loadTransmissions<T>(
  server: PosthornProcess,
  opts: { connections: number; duration: number },
  measure: () => Promise<() => Promise<T>>,
): Promise<{ result: Result; measured: T }> {
  const request = {
    url: `${server.url}/v1/layang/transmissions`,
    connections: opts.connections,
    requests: [
      {
        method: 'POST' as const,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.key}` },
        body: singleRecipientBody(),
      },
    ],
  };
  await autocannon({ ...request, duration: 3 });
  const finish = await measure();
  const result = await autocannon({ ...request, duration: opts.duration });
  return { result, measured: await finish() };
}

/**
 * Queues `total` messages through an API process, DKIM-signed at delivery: the sending domain is
 * added first (its key is made then), then transmissions of 1,000 recipients, two at a time.
 */
export async function queueSignedMessages(api: PosthornProcess, total: number): Promise<void> {
  const post = async (path: string, body: string) => {
    const res = await fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${api.key}` },
      body,
    });
    if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${await res.text()}`);
  };
  await post('/v1/domain/sending', JSON.stringify({ domain: FROM_DOMAIN, note: 'benchmark' }));
  for (let first = 0; first < total; first += 2000) {
    await Promise.all(
      [first, first + 1000]
        .filter((f) => f < total)
        .map((f) => post('/v1/layang/transmissions', manyRecipientsBody(f, Math.min(1000, total - f)))),
    );
  }
}
