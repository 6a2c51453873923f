// The transport step on its own: a built message goes to the next hop (here the relay transport to
// a real SMTP server) with its own envelope; sandbox mail, and all mail without a transport
// (capture mode), is kept and never reaches a server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStep } from '../../../src/delivery/steps/build.ts';
import { transportStep } from '../../../src/delivery/steps/transport.ts';
import { PriorityGate } from '../../../src/delivery/priority-gate.ts';
import type { MessagesTable } from '../../../src/store/schema.ts';
import type { BuiltMessage } from '../../../src/delivery/build-message.ts';
import { startStepWorld, type StepWorld } from '../../helpers/delivery-steps.ts';
import { dialectName } from '../../helpers/database.ts';

describe(`transport step (${dialectName})`, () => {
  let world: StepWorld;
  beforeAll(async () => {
    world = await startStepWorld();
  });
  afterAll(async () => world?.close());

  async function claimBuilt(tag: string): Promise<{ m: MessagesTable; built: BuiltMessage }> {
    const [m] = await world.claim(await world.accept([world.address(tag)]));
    const result = await buildStep(world.builder, new PriorityGate(1), m, world.ctx.clock);
    if (!('built' in result)) throw new Error('not built');
    return { m, built: result.built };
  }

  it('hands the message to the relay with its envelope and returns the reply', async () => {
    const { m, built } = await claimBuilt('sent');
    const sent = await transportStep(world.transport, m, built);
    expect(sent).toMatchObject({ reply: { code: 250 }, via: `smtp://127.0.0.1:${world.sink.port}` });
    const [received] = await world.sink.waitForCount(1);
    expect(received.from).toBe(built.envelopeFrom);
    expect(received.to).toEqual([m.recipient]);
    expect(received.raw.toString()).toContain(built.raw.toString().trimEnd());
  });

  it('keeps sandbox mail and all mail in capture mode: nothing reaches the server', async () => {
    const before = world.sink.messages.length;
    const { m, built } = await claimBuilt('kept');
    expect(transportStep(world.transport, { ...m, sandbox: 1 }, built)).toBe('captured');
    expect(transportStep(null, m, built)).toBe('captured');
    await new Promise((r) => setTimeout(r, 200));
    expect(world.sink.messages.length).toBe(before);
  });
});
