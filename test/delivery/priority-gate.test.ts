// The relay transport's gate: no more sends at once than connections, and waiting sends are let in
// by priority (transactional before bulk), in arrival order within a priority.
import { describe, expect, it } from 'vitest';
import { PriorityGate } from '../../src/delivery/priority-gate.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('PriorityGate', () => {
  it('admits at most its capacity and then the most urgent waiting sends first', async () => {
    const gate = new PriorityGate(2);
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const send = (name: string, priority: number) =>
      gate.run(priority, () => {
        started.push(name);
        const d = deferred();
        finish.set(name, d.resolve);
        return d.promise.then(() => name);
      });
    const runs = [
      send('bulk1', 10),
      send('bulk2', 10),
      send('bulk3', 10),
      send('bulk4', 10),
      send('urgent1', 0),
      send('urgent2', 0),
    ];
    await Promise.resolve();
    expect(started).toEqual(['bulk1', 'bulk2']);
    expect(gate.active).toBe(2);
    expect(gate.queued).toBe(4);

    finish.get('bulk1')!();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['bulk1', 'bulk2', 'urgent1']);
    finish.get('bulk2')!();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['bulk1', 'bulk2', 'urgent1', 'urgent2']);
    for (const name of ['urgent1', 'urgent2', 'bulk3', 'bulk4']) {
      await new Promise((r) => setImmediate(r));
      finish.get(name)!();
    }
    expect(await Promise.all(runs)).toEqual(['bulk1', 'bulk2', 'bulk3', 'bulk4', 'urgent1', 'urgent2']);
    expect(started).toEqual(['bulk1', 'bulk2', 'urgent1', 'urgent2', 'bulk3', 'bulk4']);
    expect(gate.active).toBe(0);
    expect(gate.queued).toBe(0);
  });

  it('frees the slot of a send that failed', async () => {
    const gate = new PriorityGate(1);
    await expect(gate.run(10, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(10, async () => 'next')).toBe('next');
    expect(gate.active).toBe(0);
  });
});
