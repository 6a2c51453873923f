// One message's way through the steps (pipeline.ts), on the real store and a real SMTP server:
// a message that may be sent is built, sent and recorded as delivered; a screened-out one is never
// built or sent, only recorded. Either way the slot is given back once, before the outcome commits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverMessage } from '../../src/delivery/pipeline.ts';
import { startStepWorld, type StepWorld } from '../helpers/delivery-steps.ts';
import { dialectName } from '../helpers/database.ts';

describe(`delivery pipeline (${dialectName})`, () => {
  let world: StepWorld;
  beforeAll(async () => {
    world = await startStepWorld();
  });
  afterAll(async () => world?.close());

  it('builds, sends and records a message that may be sent', async () => {
    const to = world.address('through');
    const [m] = await world.claim(await world.accept([to]));
    let slotsGiven = 0;
    let statusWhenGiven: string | null = null;
    const done = deliverMessage(world.pipeline, m, { send: true }, () => {
      slotsGiven++;
      // The outcome is known here, but not committed yet: the slot does not wait for the commit.
      void world.row(m.id).then((row) => (statusWhenGiven ??= row.status));
    });
    await done;
    expect(slotsGiven).toBe(1);
    expect(statusWhenGiven).toBe('sending');
    expect(world.sink.messages.filter((r) => r.to.includes(to))).toHaveLength(1);
    expect(await world.row(m.id)).toMatchObject({ status: 'delivered', lease_owner: null });
    expect((await world.events(m.id)).map((e) => e.type)).toContain('delivery');
  });

  it('records a screened-out message without building or sending it', async () => {
    const to = world.address('refused');
    const [m] = await world.claim(await world.accept([to]));
    let slotsGiven = 0;
    await deliverMessage(world.pipeline, m, { blacklisted: true }, () => slotsGiven++);
    expect(slotsGiven).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(world.sink.messages.filter((r) => r.to.includes(to))).toEqual([]);
    expect(await world.row(m.id)).toMatchObject({ status: 'suppressed', bounce_class: 50, size: null });
    expect((await world.events(m.id)).map((e) => e.type)).toContain('policy_rejection');
  });
});
