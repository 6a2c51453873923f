// The bounded retry and the outage bookkeeping that the store, the group commit and the loops share.
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, withRetry } from '../../src/store/retry.ts';
import { StoreHealth } from '../../src/store/store-health.ts';
import { CommitOutcomeUnknown } from '../../src/store/store-errors.ts';

const fault = (code: string) => Object.assign(new Error(code), { code });
const quick = { attempts: 5, baseDelayMs: 1, maxDelayMs: 2 };

/** An operation that fails with `errors` in turn, then returns 'ok'; counts its calls. */
function failing(...errors: Error[]) {
  const op = (): Promise<string> => {
    op.calls++;
    return op.calls <= errors.length ? Promise.reject(errors[op.calls - 1]) : Promise.resolve('ok');
  };
  op.calls = 0;
  return op;
}

describe('withRetry', () => {
  it('tries again after conflicts and lost connections, and returns the first success', async () => {
    const op = failing(fault('40P01'), fault('57P01'), fault('SQLITE_BUSY'));
    await expect(withRetry(op, quick)).resolves.toBe('ok');
    expect(op.calls).toBe(4);
  });

  it('gives up after `attempts` tries with the last error', async () => {
    const op = failing(...Array.from({ length: 10 }, (_, i) => fault(i === 4 ? '40001' : '57P01')));
    await expect(withRetry(op, quick)).rejects.toMatchObject({ code: '40001' });
    expect(op.calls).toBe(5);
  });

  it('never runs again what is not safe to: other errors, a full disk, a COMMIT of unknown fate', async () => {
    for (const error of [
      new Error('bad input'),
      fault('23505'),
      fault('SQLITE_FULL'),
      new CommitOutcomeUnknown(fault('57P01')),
    ]) {
      const op = failing(error);
      await expect(withRetry(op, quick)).rejects.toBe(error);
      expect(op.calls).toBe(1);
    }
  });

  it('stops at its deadline and when told to give up', async () => {
    const slow = failing(...Array.from({ length: 100 }, () => fault('57P01')));
    await expect(
      withRetry(slow, { attempts: 100, baseDelayMs: 20, maxDelayMs: 20, deadlineMs: 50 }),
    ).rejects.toMatchObject({ code: '57P01' });
    expect(slow.calls).toBeLessThan(5);

    let stop = false;
    const op = failing(...Array.from({ length: 100 }, () => fault('57P01')));
    const run = withRetry(op, {
      ...quick,
      attempts: 100,
      giveUp: () => stop,
      onRetry: () => void (stop = op.calls >= 3),
    });
    await expect(run).rejects.toMatchObject({ code: '57P01' });
    expect(op.calls).toBe(4);
  });

  it('retries what the caller says is safe', async () => {
    const op = failing(fault('SQLITE_FULL'), fault('SQLITE_FULL'));
    const seen: number[] = [];
    await expect(
      withRetry(op, { ...quick, shouldRetry: () => true, onRetry: (_e, attempt) => void seen.push(attempt) }),
    ).resolves.toBe('ok');
    expect(seen).toEqual([1, 2]);
  });
});

describe('backoffDelayMs', () => {
  it('doubles from the base, with up to half again of jitter, and never exceeds the cap', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    for (let i = 0; i < 50; i++) {
      const [first, second, third] = [1, 2, 3].map((n) => backoffDelayMs(policy, n));
      expect(first).toBeGreaterThanOrEqual(100);
      expect(first).toBeLessThanOrEqual(150);
      expect(second).toBeGreaterThanOrEqual(200);
      expect(second).toBeLessThanOrEqual(300);
      expect(third).toBeGreaterThanOrEqual(400);
      expect(third).toBeLessThanOrEqual(600);
      expect(backoffDelayMs(policy, 10)).toBe(1000);
      expect(backoffDelayMs(policy, 5000)).toBe(1000);
    }
  });
});

describe('StoreHealth', () => {
  function tracked() {
    let now = 1_000_000;
    const events: string[] = [];
    const health = new StoreHealth(
      {
        unavailable: (description, kind) => events.push(`down ${kind}: ${description.split(' (')[0]}`),
        available: (ms) => events.push(`up after ${ms}`),
      },
      () => now,
    );
    return { health, events, advance: (ms: number) => (now += ms) };
  }

  it('reports an outage once when it starts and once when it ends', () => {
    const { health, events, advance } = tracked();
    health.succeeded(false);
    health.failed(fault('57P01'));
    health.failed(fault('ECONNREFUSED'));
    health.failed(fault('57P03'));
    expect(health.available).toBe(false);
    advance(2500);
    health.succeeded(false);
    health.succeeded(true);
    expect(health.available).toBe(true);
    expect(events).toEqual([
      'down connection: the database is unreachable or the connection was lost',
      'up after 2500',
    ]);
  });

  it('ignores errors that are not outages', () => {
    const { health, events } = tracked();
    health.failed(fault('40P01'));
    health.failed(fault('23505'));
    health.failed(new Error('x'));
    expect(health.available).toBe(true);
    expect(events).toEqual([]);
  });

  it('ends a full disk only with a committed write, not with a read', () => {
    const { health, events, advance } = tracked();
    health.failed(fault('SQLITE_FULL'));
    advance(100);
    health.succeeded(false);
    expect(health.available).toBe(false);
    advance(100);
    health.succeeded(true);
    expect(events).toEqual([
      'down storage: the database disk is full; writes fail until space is freed',
      'up after 200',
    ]);
  });

  it('keeps quiet about faults within a second of a recovery (the rest of the same outage)', () => {
    const { health, events, advance } = tracked();
    health.failed(fault('57P01'));
    advance(10);
    health.succeeded(false);
    advance(5);
    health.failed(fault('57P01')); // another of the terminated connections
    advance(5);
    health.succeeded(false);
    expect(events).toEqual(['down connection: the database is unreachable or the connection was lost', 'up after 10']);
    advance(5000);
    health.failed(fault('57P01')); // a new outage
    expect(events).toHaveLength(3);
  });
});
