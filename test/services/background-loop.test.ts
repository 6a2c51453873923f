// The loop every background worker runs: a turn, then a rest that wake() cuts short; a turn that
// asks for none goes round at once; an outage of the store pauses it (a growing wait, not the poll),
// another error is logged and the loop rests for its poll; stop() lets the turn in progress finish.
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { BackgroundLoop } from '../../src/services/background-loop.ts';
import { StoreOutage } from '../../src/services/store-outage.ts';

const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function loopOf(turn: () => Promise<number | null>, errorRestMs = 10_000) {
  const outage = new StoreOutage(log, 'test loop');
  const loop = new BackgroundLoop({
    turn,
    outage,
    log,
    errorMessage: 'test loop error',
    errorRestMs: () => errorRestMs,
  });
  return { loop, outage };
}

describe('background loop', () => {
  it('rests between turns until woken', async () => {
    let turns = 0;
    const { loop } = loopOf(async () => (++turns, 10_000));
    loop.start();
    await sleep(50);
    expect(turns).toBe(1);
    loop.wake();
    await sleep(20);
    expect(turns).toBe(2);
    await loop.stop();
    expect(turns).toBe(2);
    expect(loop.isRunning).toBe(false);
  });

  it('goes round again at once when a turn asks for no rest', async () => {
    let turns = 0;
    const { loop } = loopOf(async () => (++turns < 5 ? null : 10_000));
    loop.start();
    // No timer between those turns: all five happen before the event loop's next phase.
    await new Promise((r) => setImmediate(r));
    expect(turns).toBe(5);
    await loop.stop();
  });

  it('pauses on an outage of the store with a short growing wait, not the error rest', async () => {
    let turns = 0;
    const unavailable = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const { loop, outage } = loopOf(async () => {
      if (++turns <= 2) throw unavailable;
      return 10_000;
    });
    loop.start();
    await sleep(50);
    expect(outage.paused).toBe(true);
    // The first waits of a pause are a few hundred ms at most; the error rest would be 10 s.
    await sleep(1000);
    expect(turns).toBe(3);
    await loop.stop();
  });

  it('rests for the error rest after another error, and stop waits for the turn in progress', async () => {
    let turns = 0;
    let finished = false;
    const { loop } = loopOf(async () => {
      if (++turns === 1) throw new Error('a bug');
      await sleep(100);
      finished = true;
      return 10_000;
    }, 30);
    loop.start();
    await sleep(60);
    expect(turns).toBe(2);
    const stopping = Date.now();
    await loop.stop();
    expect(finished).toBe(true);
    // Stopped during a turn, the loop does not take the rest that turn asked for.
    expect(Date.now() - stopping).toBeLessThan(5000);
  });

  it('keeps a wake that arrives during a turn: the rest after it is skipped', async () => {
    let turns = 0;
    let loop: BackgroundLoop;
    ({ loop } = loopOf(async () => {
      // The news of new work arrives while this turn is still looking (no rest in progress to cut).
      if (++turns === 1) loop.wake();
      await sleep(5);
      return 10_000;
    }));
    loop.start();
    await sleep(100);
    // Without the kept wake the second turn would come only after the 10 s rest.
    expect(turns).toBe(2);
    await loop.stop();
  });

  it('keeps a wake during a turn that follows a rest ended by its timer', async () => {
    let turns = 0;
    let loop: BackgroundLoop;
    ({ loop } = loopOf(async () => {
      ++turns;
      // Turn 2 comes after a 20 ms rest that ran out; the news arrives while it looks for work.
      if (turns === 2) loop.wake();
      await sleep(5);
      return turns === 1 ? 20 : 10_000;
    }));
    loop.start();
    await sleep(150);
    // A wake that went to the finished rest's stale handle would leave turn 3 for the 10 s rest.
    expect(turns).toBe(3);
    await loop.stop();
  });
});
