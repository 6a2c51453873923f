// When a webhook batch that was not accepted (non-2xx, timeout, no connection) is tried again:
// exponential from a base, capped, with jitter so many failing batches do not retry in lockstep;
// given up once the first attempt is older than the retry window (24 h by default).

export interface WebhookRetryPolicy {
  baseMs: number;
  capMs: number;
  maxAgeMs: number;
}

export const DEFAULT_WEBHOOK_RETRY: WebhookRetryPolicy = { baseMs: 30_000, capMs: 3_600_000, maxAgeMs: 24 * 3_600_000 };

/** Delay before the attempt after `failedAttempts` failures (1 = the first failed): base·2^(n−1), capped, ±20 %. */
export function webhookRetryDelay(
  failedAttempts: number,
  policy: WebhookRetryPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failedAttempts - 1, 0), 30);
  const plain = Math.min(policy.baseMs * 2 ** exponent, policy.capMs);
  return Math.max(1, Math.round(plain * (0.8 + 0.4 * random())));
}

/** The time of the next attempt, or null when the batch has run out of time and is failed. */
export function nextWebhookAttemptAt(
  firstAttemptAt: number,
  failedAttempts: number,
  now: number,
  policy: WebhookRetryPolicy,
  random: () => number = Math.random,
): number | null {
  const next = now + webhookRetryDelay(failedAttempts, policy, random);
  return next - firstAttemptAt > policy.maxAgeMs ? null : next;
}
