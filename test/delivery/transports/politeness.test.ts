// Per-domain politeness on its own, with a clock the test moves: the concurrency cap and who
// waits, the hand-back of bulk mail beyond what waits, urgent mail that always waits, suspension
// after a throttle and the cap's halving and slow recovery.
import { describe, expect, it } from 'vitest';
import { Politeness, type Admission } from '../../../src/delivery/transports/politeness.ts';
import { parseDomainLimits } from '../../../src/domain/domain-limits.ts';

const BULK = 10;
const URGENT = 0;

function setup(limits = 'polite.example:connections=2') {
  let now = 1_000_000;
  const p = new Politeness(
    parseDomainLimits(limits),
    () => now,
    () => 0.5,
  );
  return { p, advance: (ms: number) => (now += ms), now: () => now };
}

/** The admission if it was decided at once, else 'waiting'. */
async function settled(promise: Promise<Admission>): Promise<Admission | 'waiting'> {
  return Promise.race([promise, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 10))]);
}

describe('politeness per domain', () => {
  it('admits up to the cap, lets as many wait, and hands bulk mail beyond that back for later', async () => {
    const { p, now } = setup();
    const first = (await p.admit('polite.example', BULK)) as Extract<Admission, { kind: 'go' }>;
    expect(first.kind).toBe('go');
    expect((await p.admit('polite.example', BULK)).kind).toBe('go');
    const third = p.admit('polite.example', BULK);
    const fourth = p.admit('polite.example', BULK);
    expect(await settled(third)).toBe('waiting');
    expect(await settled(fourth)).toBe('waiting');
    const fifth = await p.admit('polite.example', BULK);
    expect(fifth.kind).toBe('busy');
    const sixth = await p.admit('polite.example', BULK);
    // Handed-back messages get successive slot times, not all the same one.
    expect((fifth as { until: number }).until).toBeGreaterThan(now());
    expect((sixth as { until: number }).until).toBeGreaterThan((fifth as { until: number }).until);
    // Urgent mail always waits, ahead of bulk mail.
    const urgent = p.admit('polite.example', URGENT);
    expect(await settled(urgent)).toBe('waiting');
    first.done('ok');
    expect((await urgent).kind).toBe('go');
    expect(await settled(third)).toBe('waiting');
    // Other domains are not affected at all.
    expect((await p.admit('other.example', BULK)).kind).toBe('go');
  });

  it('suspends a throttling domain: waiting and new messages are deferred until the backoff ends', async () => {
    const { p, now, advance } = setup();
    const a = (await p.admit('polite.example', BULK)) as Extract<Admission, { kind: 'go' }>;
    await p.admit('polite.example', BULK);
    const waiting = p.admit('polite.example', BULK);
    const until = p.suspend('polite.example', '421 too many connections');
    expect(until - now()).toBe(30_000);
    expect(await waiting).toMatchObject({ kind: 'suspended', reason: '421 too many connections' });
    const later = await p.admit('polite.example', BULK);
    expect(later.kind).toBe('suspended');
    expect((later as { until: number }).until).toBeGreaterThanOrEqual(until);
    // The cap was halved.
    expect(p.status('polite.example').cap).toBe(1);
    a.done('throttled');
    // Throttled again after the first backoff: twice as long.
    advance(31_000);
    expect(p.suspend('polite.example', 'again') - now()).toBe(60_000);
  });

  it('gives a halved cap back one connection per round of successes', async () => {
    const { p, advance } = setup('polite.example:connections=4');
    p.suspend('polite.example', 'slow down');
    expect(p.status('polite.example').cap).toBe(2);
    advance(31_000);
    for (let round = 0; round < 2; round++) {
      const a = (await p.admit('polite.example', BULK)) as Extract<Admission, { kind: 'go' }>;
      const b = (await p.admit('polite.example', BULK)) as Extract<Admission, { kind: 'go' }>;
      a.done('ok');
      b.done('ok');
    }
    expect(p.status('polite.example').cap).toBe(3);
  });
});
