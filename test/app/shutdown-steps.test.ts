// A shutdown names the step it is still waiting for, in the log and to whoever asks.
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ShutdownSteps } from '../../src/shutdown-steps.ts';

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { log: pino({ level: 'warn' }, stream), lines };
}

describe('shutdown steps', () => {
  it('reports the step in progress and logs one that is slow, then nothing once done', async () => {
    const { log, lines } = capturingLogger();
    const steps = new ShutdownSteps(log, 40);
    expect(steps.current).toBeNull();
    let finish!: () => void;
    const slow = steps.step('worker', () => new Promise<void>((r) => (finish = r)));
    expect(steps.current).toBe('worker');
    await new Promise((r) => setTimeout(r, 130));
    finish();
    await slow;
    const logged = lines.length;
    expect(logged).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatchObject({ step: 'worker', msg: 'shutdown: still waiting' });
    expect(lines[0].waitingMs).toBeGreaterThanOrEqual(40);

    await steps.step('store', () => undefined);
    expect(steps.current).toBe('store');
    await new Promise((r) => setTimeout(r, 100));
    expect(lines.length).toBe(logged);
  });

  it('stops watching a step that fails, and passes its error on', async () => {
    const { log, lines } = capturingLogger();
    const steps = new ShutdownSteps(log, 20);
    await expect(steps.step('http', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await new Promise((r) => setTimeout(r, 60));
    expect(lines).toEqual([]);
  });

  it('runs every step of a shutdown when one fails, logs the failure, and throws it at the end', async () => {
    const { log, lines } = capturingLogger();
    const steps = new ShutdownSteps(log, 1000);
    const ran: string[] = [];
    const all = steps.all([
      ['smtp submission', () => void ran.push('smtp submission')],
      ['http', () => Promise.reject(new Error('listener would not close'))],
      ['worker', async () => void ran.push('worker')],
      ['store', () => void ran.push('store')],
    ]);
    await expect(all).rejects.toThrow('listener would not close');
    expect(ran).toEqual(['smtp submission', 'worker', 'store']);
    expect(steps.current).toBeNull();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ step: 'http', msg: 'shutdown: a step failed; going on with the next' });
  });

  it('throws all the failures together when several steps fail, and nothing when none does', async () => {
    const { log } = capturingLogger();
    const steps = new ShutdownSteps(log, 1000);
    const failed = await steps
      .all([
        ['http', () => Promise.reject(new Error('one'))],
        ['store', () => Promise.reject(new Error('two'))],
      ])
      .catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(AggregateError);
    expect((failed as AggregateError).errors.map((e: Error) => e.message)).toEqual(['one', 'two']);
    await expect(steps.all([['store', () => undefined]])).resolves.toBeUndefined();
    expect(steps.current).toBeNull();
  });
});
